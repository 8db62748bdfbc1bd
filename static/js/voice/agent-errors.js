/** Error events from the agent: OpenAI's time limit ends the call; others show unless their part claims them. */

import { announce, notice, onServerEvents } from './events.js';

export class AgentErrors {
  /** call: the VoiceCall, ended at OpenAI's session limit; openaiSessionMinutes: that limit (the catalog's figure). */
  constructor({ root, call, openaiSessionMinutes }) {
    Object.assign(this, { root, call, openaiSessionMinutes });
    onServerEvents(root, { error: (event) => this.#error(event.error ?? {}) });
  }

  #error(error) {
    const words = `${error.message || 'no message'}${error.code ? ` (${error.code})` : ''}`;
    if (error.code === 'session_expired') {
      const text =
        `The session reached OpenAI’s ${this.openaiSessionMinutes}-minute limit and was closed by OpenAI. ` +
        'Press Start Voice Session for a new one.';
      this.call.finish('ended', 'session_expired', { message: text, kind: 'warn' });
      return;
    }
    // A refused session.update belongs to the settings form, a refused response.create or cancel to responses.js.
    const unclaimed = announce(this.root, 'voice:agent-error', { error, words }, { cancelable: true });
    if (unclaimed) notice(this.root, `The agent reported an error: ${words}`, 'warn');
  }
}
