/** The admin's voice session from Start to hang-up: its connection attempts, reconnecting after a drop, ending. */

import { asVoiceError } from './errors.js';
import { VoiceSession } from './session.js';

const RECONNECT_DELAYS_MS = [1000, 2000, 4000]; // a lost call is retried this many times, with these waits
export const ACTIVE_STATES = ['waiting-for-microphone', 'connecting', 'connected', 'reconnecting'];

/**
 * One admin session may span several attempts, each a VoiceSession. The rest of the page hangs on `on`:
 * starting() (a new admin session), connected(session, reconnected), released() (the attempt's media is gone),
 * stateShown(state), serverEvent(event), clientEvent(event) and playbackBlocked(error).
 * With a `preparer` (prepare.js), a Start or Reconnect click uses the call it prepared, if any (reconnects after a
 * drop take today's path); each end of the admin's session lets it prepare the next one.
 * Announces on document: "voice:state" {state}, "voice:minted" {expiresAt}, "voice:ended" {reason}.
 */
export class VoiceCall {
  state = 'idle';
  session = null; // the current attempt's VoiceSession; null between attempts
  #reconnectsDone = 0;
  #reconnectTimer = null;
  #sessionsStarted = 0;

  constructor({ sessionOptions, view, telemetry, transcript, on, preparer = null }) {
    Object.assign(this, { sessionOptions, view, telemetry, transcript, on, preparer });
  }

  /** The Start and Reconnect buttons. */
  async start() {
    clearTimeout(this.#reconnectTimer);
    this.view.showMessage(null);
    this.#reconnectsDone = 0;
    this.on.starting();
    if (this.#sessionsStarted > 0) {
      this.transcript.note('New session: the agent does not remember the earlier conversation.');
    }
    this.#sessionsStarted += 1;
    this.view.connecting();
    await this.#connect({ reconnecting: false });
  }

  hangUp(reason = 'hung up by the admin') {
    if (!ACTIVE_STATES.includes(this.state)) return;
    this.finish('ended', reason);
  }

  /** Ends the admin's session: "ended" after a hang-up or the cap, "error" when something failed. */
  finish(finalState, reason, { message = null, kind = 'info', reconnect = false } = {}) {
    clearTimeout(this.#reconnectTimer);
    if (this.telemetry.isConnected) this.telemetry.ended(reason);
    else if (this.session) this.telemetry.failed(`cancelled: ${reason}`);
    this.#release();
    this.telemetry.forget();
    this.setState(finalState);
    this.view.showMessage(message, kind, { reconnect });
    document.dispatchEvent(new CustomEvent('voice:ended', { detail: { reason } }));
    this.preparer?.afterCall();
  }

  setState(next) {
    this.state = next;
    this.view.showState(next);
    this.on.stateShown(next);
    document.dispatchEvent(new CustomEvent('voice:state', { detail: { state: next } }));
  }

  async #connect({ reconnecting }) {
    // The telemetry attempt (begin, below) starts with the click, never with preparing.
    const prepared = reconnecting ? null : (this.preparer?.take() ?? null);
    const current = new VoiceSession({ ...this.sessionOptions, prepared });
    this.session = current;
    this.telemetry.begin();
    current.addEventListener('state', (event) => {
      // While reconnecting the page says "Reconnecting…" throughout, not each attempt's steps.
      if (!reconnecting) this.setState(event.detail.state);
    });
    current.addEventListener('minted', (event) => {
      document.dispatchEvent(new CustomEvent('voice:minted', { detail: { expiresAt: event.detail.expiresAt } }));
    });
    current.addEventListener('server-event', (event) => this.on.serverEvent(event.detail));
    current.addEventListener('client-event', (event) => this.on.clientEvent(event.detail));
    current.addEventListener('playback-blocked', (event) => this.on.playbackBlocked(event.detail.error));
    current.addEventListener('lost', (event) => this.#lost(current, event.detail.reason));
    if (reconnecting) this.setState('reconnecting');
    try {
      await current.start();
    } catch (thrown) {
      if (this.session !== current) return; // hung up meanwhile: finish() has reported the attempt
      const error = asVoiceError(thrown);
      this.telemetry.failed(`${error.kind}: ${error.message}`);
      // Retrying cannot help with this browser's own microphone or page.
      const local =
        error.kind.startsWith('microphone') || error.kind === 'no-microphone' || error.kind === 'insecure-context';
      if (reconnecting && !local && this.#reconnectsDone < RECONNECT_DELAYS_MS.length) {
        this.#scheduleReconnect(error.message);
        return;
      }
      const failed = `${this.#reconnectsDone} reconnect ${this.#reconnectsDone === 1 ? 'attempt' : 'attempts'} failed`;
      const text = reconnecting
        ? `The connection was lost and ${failed}. Last error: ${error.message}`
        : error.message;
      this.finish('error', text, { message: text, kind: 'error', reconnect: !local });
      return;
    }
    this.#connected(current, reconnecting);
  }

  #connected(current, reconnected) {
    this.view.showConnectTime(this.telemetry.connected(), reconnected);
    if (reconnected) {
      this.#reconnectsDone = 0;
      this.view.showMessage(
        'Reconnected. This is a new Realtime session: the agent does not remember the earlier conversation.',
        'info',
      );
      this.transcript.note('Reconnected (new session).');
    }
    this.on.connected(current, reconnected);
    this.setState('connected');
  }

  #lost(lostSession, reason) {
    if (lostSession !== this.session) return;
    this.telemetry.ended(`connection lost: ${reason}`);
    this.#release();
    this.#scheduleReconnect(`The connection was lost (${reason}).`);
  }

  #scheduleReconnect(why) {
    const delay = RECONNECT_DELAYS_MS[this.#reconnectsDone];
    this.#reconnectsDone += 1;
    this.session = null;
    this.setState('reconnecting');
    this.view.showMessage(
      `${why} Reconnecting in ${delay / 1000} s (attempt ${this.#reconnectsDone} of ${RECONNECT_DELAYS_MS.length})…`,
      'warn',
    );
    this.#reconnectTimer = setTimeout(() => this.#connect({ reconnecting: true }), delay);
  }

  /** Stops the attempt's media, channel and peer, then the page's parts that follow it; safe to call twice. */
  #release() {
    const ending = this.session;
    this.session = null;
    ending?.stop();
    this.on.released();
  }
}
