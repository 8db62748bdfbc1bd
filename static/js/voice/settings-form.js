/** The session settings form: sends a session.update and shows whether the agent applied or refused it. */

import { randomId } from './random-id.js';

export class SettingsForm {
  #pending = null; // {eventId, summary, session} of the session.update awaiting session.updated
  #applied = null; // the last session.update the agent accepted, re-sent after a reconnect

  /** call: the VoiceCall, whose current session gets the update. */
  constructor({ form, result, call }) {
    Object.assign(this, { form, result, call });
  }

  listen() {
    this.form.addEventListener('submit', (event) => this.#submit(event));
  }

  get buttons() {
    return [...this.form.querySelectorAll('button')];
  }

  /** After a reconnect: the new Realtime session starts from the server's configuration, not the admin's. */
  resend() {
    if (this.#applied) this.#send(this.#applied.session, this.#applied.summary);
  }

  /** A new admin session starts from the server's configuration. */
  forget() {
    this.#applied = null;
  }

  /** The call ended: no answer will come to an update still pending. */
  release() {
    this.#pending = null;
  }

  /** session.created or session.updated: the form shows the turn detection in force. */
  showTurnDetection(detection) {
    this.form.elements.turn_detection.value = detection === null ? 'off' : detection.type;
  }

  /** session.updated: the pending update, if any, took effect. */
  confirm() {
    if (!this.#pending) return;
    this.#show(`Applied (session.updated): ${this.#pending.summary}.`, 'ok');
    this.#applied = this.#pending;
    this.#pending = null;
  }

  /** An error event; true if it refused the pending update, which the form then shows instead of the page. */
  refused(error, words) {
    const pending = this.#pending;
    // OpenAI echoes the event_id of the client event it refuses; a refused session.update belongs to the form.
    const aboutUpdate =
      pending && (error.event_id === pending.eventId || (!error.event_id && error.param?.startsWith('session')));
    if (!aboutUpdate) return false;
    this.#show(`Refused: ${words}`, 'bad');
    this.#pending = null;
    return true;
  }

  #submit(event) {
    event.preventDefault();
    const fields = this.form.elements;
    const maxTokens = fields.max_output_tokens.value.trim();
    const detection = fields.turn_detection.value;
    const update = {
      type: 'realtime', // GA refuses a session.update without it
      instructions: fields.instructions.value,
      max_output_tokens: maxTokens ? Number(maxTokens) : 'inf',
      audio: { input: { turn_detection: detection === 'off' ? null : { type: detection } } },
    };
    const turns = detection === 'off' ? 'off (push-to-talk)' : detection;
    this.#send(update, `turn detection ${turns}, max output tokens ${maxTokens || 'inf'}`);
  }

  #send(update, summary) {
    const eventId = `evt_console_${randomId().slice(0, 20)}`;
    if (!this.call.session?.send({ type: 'session.update', event_id: eventId, session: update })) return;
    this.#pending = { eventId, summary, session: update };
    this.#show('Sent; waiting for session.updated…');
  }

  /** outcome: "ok", "bad" or none (waiting). */
  #show(text, outcome) {
    this.result.textContent = text;
    this.result.className = outcome ? `voice-settings-result ${outcome}` : 'voice-settings-result';
  }
}
