/**
 * The agent's responses: asking for one, sequenced as OpenAI's Agents SDKs do (agents-js
 * responseCreateSequencer.ts), and interrupting one. At most one response.create is in flight and none goes out
 * while a response runs: OpenAI refuses a second with conversation_already_has_active_response. Asks made
 * meanwhile (voice:response-wanted) are merged into one create, sent when the way is clear.
 */

import { answerProblem } from './errors.js';
import { notice, onServerEvents } from './events.js';
import { randomId } from './random-id.js';

export class Responses {
  #active = false; // a response runs: from its response.created to its response.done
  #pending = null; // the event_id of the response.create sent and not yet answered by a response.created
  #lastSent = null; // the event_id of the last response.create sent, to know our own refused ones
  #wanted = false; // asked for while busy: one response.create once the way is clear
  #cancelling = false; // the admin's Interrupt cancelled the running response

  /** call: the VoiceCall, whose current session carries the requests; interruptButton: the Interrupt button. */
  constructor({ root, call, interruptButton }) {
    Object.assign(this, { root, call });
    root.addEventListener('voice:response-wanted', () => this.#request());
    root.addEventListener('voice:released', () => this.#reset());
    root.addEventListener('voice:agent-error', (event) => this.#refused(event));
    onServerEvents(root, {
      'response.created': () => this.#created(),
      'response.done': (event) => this.#done(event.response),
    });
    interruptButton.addEventListener('click', () => this.#interrupt());
  }

  #request() {
    this.#wanted = true;
    this.#sendIfClear();
  }

  #sendIfClear() {
    if (!this.#wanted || this.#active || this.#pending) return;
    const eventId = `evt_console_${randomId().slice(0, 20)}`; // OpenAI names it in an error that refuses it
    if (!this.call.session?.send({ type: 'response.create', event_id: eventId })) return;
    this.#wanted = false;
    this.#pending = this.#lastSent = eventId;
  }

  /** Any response.created, ours or one the server started (turn detection): a response runs. */
  #created() {
    this.#active = true;
    this.#pending = null;
    this.#cancelling = false;
  }

  #done(response) {
    const problem = answerProblem(response, { cancelledByAdmin: this.#cancelling });
    if (problem) notice(this.root, problem, 'warn');
    this.#active = false;
    this.#cancelling = false;
    this.#sendIfClear();
  }

  /** An error event about our own response.create or response.cancel. */
  #refused(event) {
    const { error } = event.detail;
    // Interrupt raced the answer's end: the answer is over, as the admin wanted; nothing failed.
    if (error.code === 'response_cancel_not_active') {
      event.preventDefault();
      return;
    }
    if (!error.event_id || error.event_id !== this.#lastSent) return;
    if (this.#pending === error.event_id) this.#pending = null;
    // A response the server started (the admin spoke) won the race: ask again once it is done, as the SDKs do;
    // the admin has nothing to act on. Any other refusal shows, and is not retried. (The server sends that
    // response's response.created before refusing ours, so it runs now; were it not, asking again could loop.)
    if (error.code === 'conversation_already_has_active_response') {
      event.preventDefault();
      if (this.#active) this.#wanted = true;
    }
    this.#sendIfClear();
  }

  #interrupt() {
    const { session } = this.call;
    if (this.#active && !this.#cancelling) {
      session?.send({ type: 'response.cancel' }); // cancelling with none active is an error event
      this.#cancelling = true;
    }
    session?.send({ type: 'output_audio_buffer.clear' }); // WebRTC only: stops audio already on its way
  }

  /** The call ended: its responses with it. */
  #reset() {
    this.#active = false;
    this.#pending = this.#lastSent = null;
    this.#wanted = false;
    this.#cancelling = false;
  }
}
