/** A warning when the agent has started answering aloud but no sound has arrived from it a few seconds later. */

import { onServerEvents } from './events.js';

const NO_AUDIO_WARNING_MS = 4000;
const MIN_ENERGY = 1e-6; // totalAudioEnergy gained by a few milliseconds of even quiet speech; silence adds ~0

export class AgentAudioWatch {
  #timer = null;
  #session = null; // the VoiceSession the pending check belongs to

  /** call: the VoiceCall, whose session's audio is measured; warning: the element shown while no audio arrives. */
  constructor({ root, call, warning }) {
    Object.assign(this, { call, warning });
    onServerEvents(root, {
      'response.created': (event) => this.#answerStarted(event.response),
      'response.done': (event) => this.#answerEnded(event.response),
    });
    root.addEventListener('voice:released', () => this.#stop());
  }

  /** response.created: an answer with audio in its output should be heard within a few seconds. */
  #answerStarted(response) {
    const modalities = response?.output_modalities ?? ['audio'];
    if (!modalities.includes('audio') || this.#timer) return;
    const session = this.call.session;
    if (!session) return;
    const before = session.audioBytes();
    this.#session = session;
    this.#timer = setTimeout(() => this.#check(session, before), NO_AUDIO_WARNING_MS);
  }

  /**
   * response.done: a failed or cancelled answer has no audio to wait for (its own message says why), nor has a
   * function call (the spoken answer comes with the next response, perhaps after the admin approves the call).
   */
  #answerEnded(response) {
    const calledTool = response?.output?.some((item) => item.type === 'function_call');
    if (response?.status === 'failed' || response?.status === 'cancelled' || calledTool) this.#cancel();
  }

  /** The call's attempt ended: nothing more to wait for, nothing to warn about. */
  #stop() {
    this.#cancel();
    this.warning.hidden = true;
  }

  async #check(session, before) {
    this.#timer = null;
    const [start, now] = await Promise.all([before, session.audioBytes()]);
    if (session !== this.call.session || session !== this.#session) return; // the call ended or was replaced
    this.warning.hidden = arrived(start, now);
  }

  #cancel() {
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#session = null;
  }
}

/** Whether audio came in between two readings: by its energy where the browser reports it, else by bytes. */
function arrived(start, now) {
  if (start.receivedEnergy !== null && now.receivedEnergy !== null) {
    return now.receivedEnergy - start.receivedEnergy > MIN_ENERGY;
  }
  return now.received > start.received;
}
