/** The session settings form: sends a session.update and shows whether the agent applied or refused it. */

import { onServerEvents } from './events.js';
import { randomId } from './random-id.js';

/**
 * The form's fields as the session sees them: instructions, max output tokens ("" = no limit), turn detection
 * ("off" = push-to-talk), semantic VAD's eagerness and noise reduction ("off" = none).
 */
function valuesOf(fields) {
  return {
    instructions: fields.instructions.value,
    maxTokens: fields.max_output_tokens.value.trim(),
    detection: fields.turn_detection.value,
    eagerness: fields.eagerness.value,
    noise: fields.noise_reduction.value,
  };
}

/** The option a select was served with. */
function servedOption(select) {
  return [...select.options].find((option) => option.defaultSelected)?.value ?? select.value;
}

/** The values the page was served with (a reload may have restored the admin's edits into the fields). */
function servedValuesOf(fields) {
  return {
    instructions: fields.instructions.defaultValue,
    maxTokens: fields.max_output_tokens.defaultValue.trim(),
    detection: servedOption(fields.turn_detection),
    eagerness: servedOption(fields.eagerness),
    noise: servedOption(fields.noise_reduction),
  };
}

/** GA's turn_detection for the form's values: null for push-to-talk; eagerness is semantic VAD's alone. */
function turnDetection({ detection, eagerness }) {
  if (detection === 'off') return { detection: null, words: 'turn detection off (push-to-talk)' };
  if (detection !== 'semantic_vad') return { detection: { type: detection }, words: `turn detection ${detection}` };
  return { detection: { type: detection, eagerness }, words: `turn detection ${detection} (eagerness ${eagerness})` };
}

/** The fields of `values` that differ from `from`. */
function changes(values, from) {
  return Object.fromEntries(Object.entries(values).filter(([name, value]) => value !== from[name]));
}

/** A GA session.update's session for the changed values (`values`: all of them), and its summary in words. */
function updateFor(changed, values) {
  const update = { type: 'realtime' }; // GA refuses a session.update without it
  const words = [];
  if ('instructions' in changed) {
    update.instructions = changed.instructions;
    words.push('instructions');
  }
  const input = {};
  if ('detection' in changed || ('eagerness' in changed && values.detection === 'semantic_vad')) {
    const { detection, words: said } = turnDetection(values);
    input.turn_detection = detection;
    words.push(said);
  }
  if ('noise' in changed) {
    input.noise_reduction = changed.noise === 'off' ? null : { type: changed.noise };
    words.push(`noise reduction ${changed.noise}`);
  }
  if (Object.keys(input).length) update.audio = { input };
  if ('maxTokens' in changed) {
    update.max_output_tokens = changed.maxTokens ? Number(changed.maxTokens) : 'inf';
    words.push(`max output tokens ${changed.maxTokens || 'inf'}`);
  }
  return { update, summary: words.join(', ') };
}

/**
 * Sends only what the admin changed: a field left alone keeps the session's value (an empty instructions field
 * would otherwise replace OpenAI's default instructions with none).
 */
export class SettingsForm {
  #pending = null; // {eventId, summary, values} of the session.update awaiting session.updated
  #initial; // the values a new Realtime session starts with: the server's configuration, as the page loaded
  #current; // the values the live session has, as far as the page knows
  #applied = {}; // the values the agent accepted from the admin this session, re-sent after a reconnect

  /** call: the VoiceCall, whose current session gets the update. */
  constructor({ root, form, result, call }) {
    Object.assign(this, { form, result, call });
    this.#initial = servedValuesOf(form.elements);
    this.#current = { ...this.#initial };
    form.addEventListener('submit', (event) => this.#submit(event));
    form.elements.turn_detection.addEventListener('change', () => this.#offerEagerness());
    this.#offerEagerness();
    root.addEventListener('voice:starting', () => this.#forget());
    root.addEventListener('voice:connected', ({ detail }) => {
      if (detail.reconnected) this.#resend();
    });
    root.addEventListener('voice:released', () => (this.#pending = null)); // no answer will come to it now
    root.addEventListener('voice:agent-error', (event) => this.#refused(event));
    onServerEvents(root, {
      'session.created': (event) => this.#followTurnDetection(event.session),
      'session.updated': (event) => {
        this.#followTurnDetection(event.session);
        this.#confirm();
      },
    });
  }

  /** After a reconnect: the new Realtime session starts from the server's configuration, not the admin's. */
  #resend() {
    this.#current = { ...this.#initial };
    const changed = changes(this.#applied, this.#initial);
    if (Object.keys(changed).length) this.#send(changed);
  }

  /** A new admin session starts from the server's configuration. */
  #forget() {
    this.#applied = {};
    this.#current = { ...this.#initial };
  }

  /** session.created or session.updated: the turn detection (and eagerness) in force, when the event has it. */
  #followTurnDetection(effective) {
    const detection = effective?.audio?.input?.turn_detection;
    if (detection === undefined) return;
    const value = detection === null ? 'off' : detection.type;
    this.form.elements.turn_detection.value = value;
    this.#current.detection = value;
    if (detection?.eagerness) {
      this.form.elements.eagerness.value = detection.eagerness;
      this.#current.eagerness = detection.eagerness;
    }
    this.#offerEagerness();
  }

  /** Eagerness is semantic VAD's alone: the field is off for the other choices. */
  #offerEagerness() {
    this.form.elements.eagerness.disabled = this.form.elements.turn_detection.value !== 'semantic_vad';
  }

  /** session.updated: the pending update, if any, took effect. */
  #confirm() {
    if (!this.#pending) return;
    this.#show(`Applied (session.updated): ${this.#pending.summary}.`, 'ok');
    Object.assign(this.#current, this.#pending.values);
    Object.assign(this.#applied, this.#pending.values);
    this.#pending = null;
  }

  /** An error event that refused the pending update: the form shows it, instead of the message box. */
  #refused(event) {
    const { error, words } = event.detail;
    const pending = this.#pending;
    // OpenAI echoes the event_id of the client event it refuses; a refused session.update belongs to the form.
    const aboutUpdate =
      pending && (error.event_id === pending.eventId || (!error.event_id && error.param?.startsWith('session')));
    if (!aboutUpdate) return;
    event.preventDefault();
    this.#show(`Refused: ${words}`, 'bad');
    this.#pending = null;
  }

  #submit(event) {
    event.preventDefault();
    const values = valuesOf(this.form.elements);
    const changed = changes(values, this.#current);
    if (values.detection !== 'semantic_vad') delete changed.eagerness; // it would change nothing
    if (!Object.keys(changed).length) {
      this.#show('Nothing changed: the live session already has these settings.', 'ok');
      return;
    }
    this.#send(changed);
  }

  #send(changed) {
    const { update, summary } = updateFor(changed, { ...this.#current, ...changed });
    const eventId = `evt_console_${randomId().slice(0, 20)}`;
    if (!this.call.session?.send({ type: 'session.update', event_id: eventId, session: update })) return;
    this.#pending = { eventId, summary, values: changed };
    this.#show('Sent; waiting for session.updated…');
  }

  /** outcome: "ok", "bad" or none (waiting). */
  #show(text, outcome) {
    this.result.textContent = text;
    this.result.className = outcome ? `voice-settings-result ${outcome}` : 'voice-settings-result';
  }
}
