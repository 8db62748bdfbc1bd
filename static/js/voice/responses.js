/** The agent's responses: asking for one without overlapping a running one, and interrupting one. */

import { answerProblem } from './errors.js';
import { notice, onServerEvents } from './events.js';

export class Responses {
  active = false;
  wanted = false; // asked for while another response was running: sent when that one is done
  #interrupted = false; // the admin pressed Interrupt while this response ran

  /** call: the VoiceCall, whose current session carries the requests; interruptButton: the Interrupt button. */
  constructor({ root, call, interruptButton }) {
    Object.assign(this, { root, call });
    root.addEventListener('voice:response-wanted', () => this.#request());
    root.addEventListener('voice:released', () => this.#reset());
    root.addEventListener('voice:agent-error', (event) => {
      // Interrupt raced the answer's end: the answer is over, as the admin wanted; nothing failed.
      if (event.detail.error.code === 'response_cancel_not_active') event.preventDefault();
    });
    onServerEvents(root, {
      'response.created': () => this.#created(),
      'response.done': (event) => {
        const problem = answerProblem(event.response, { cancelledByAdmin: this.#done() });
        if (problem) notice(root, problem, 'warn');
      },
    });
    interruptButton.addEventListener('click', () => this.#interrupt());
  }

  /** Asks for a response now, or once the running one is done (OpenAI refuses a second one meanwhile). */
  #request() {
    this.wanted = this.active;
    if (!this.active) this.call.session?.send({ type: 'response.create' });
  }

  #created() {
    this.active = true;
    this.#interrupted = false;
  }

  /** The running response is done; returns whether the admin's Interrupt cancelled it. */
  #done() {
    const interrupted = this.#interrupted;
    this.active = false;
    this.#interrupted = false;
    if (this.wanted) this.#request();
    return interrupted;
  }

  #interrupt() {
    const { session } = this.call;
    if (this.active) {
      session?.send({ type: 'response.cancel' }); // cancelling with none active is an error event
      this.#interrupted = true;
    }
    session?.send({ type: 'output_audio_buffer.clear' }); // WebRTC only: stops audio already on its way
  }

  /** The call ended: its responses with it. */
  #reset() {
    this.active = false;
    this.wanted = false;
    this.#interrupted = false;
  }
}
