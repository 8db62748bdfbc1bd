/** The admin's voice session from Start to hang-up: its connection attempts, reconnecting after a drop, ending. */

import { asVoiceError } from './errors.js';
import { announce, notice } from './events.js';
import { VoiceSession } from './session.js';

const RECONNECT_DELAYS_MS = [1000, 2000, 4000]; // a lost call is retried this many times, with these waits
export const ACTIVE_STATES = ['waiting-for-microphone', 'connecting', 'connected', 'reconnecting'];

/**
 * One admin session may span several attempts, each a VoiceSession. What happens is announced on `root` (the
 * events are listed in events.js); the parts of the page subscribe to what they show. With a `preparer`
 * (prepare.js), a Start or Reconnect click uses the call it prepared, if any; reconnects after a drop prepare
 * their own.
 */
export class VoiceCall {
  state = 'idle';
  session = null; // the current attempt's VoiceSession; null between attempts
  #attempt = null; // {startedAt, connected} of the current attempt, until its end is announced
  #reconnectsDone = 0;
  #reconnectTimer = null;
  #sessionsStarted = 0;

  constructor({ root, sessionOptions, preparer = null }) {
    Object.assign(this, { root, sessionOptions, preparer });
  }

  /** The Start and Reconnect buttons. */
  async start() {
    clearTimeout(this.#reconnectTimer);
    notice(this.root, null);
    this.#reconnectsDone = 0;
    announce(this.root, 'voice:starting');
    if (this.#sessionsStarted > 0) {
      announce(this.root, 'voice:note', { text: 'New session: the agent does not remember the earlier conversation.' });
    }
    this.#sessionsStarted += 1;
    await this.#connect({ reconnecting: false });
  }

  hangUp(reason = 'hung up by the admin') {
    if (!ACTIVE_STATES.includes(this.state)) return;
    this.finish('ended', reason);
  }

  /** Ends the admin's session: "ended" after a hang-up or the cap, "error" when something failed. */
  finish(finalState, reason, { message = null, kind = 'info', reconnect = false } = {}) {
    clearTimeout(this.#reconnectTimer);
    this.#endAttempt(this.#attempt?.connected ? reason : `cancelled: ${reason}`);
    this.#release();
    this.setState(finalState);
    notice(this.root, message, kind, { reconnect });
    announce(this.root, 'voice:ended', { reason });
  }

  setState(next) {
    this.state = next;
    announce(this.root, 'voice:state', { state: next });
  }

  async #connect({ reconnecting }) {
    const prepared = reconnecting ? null : (this.preparer?.take() ?? null);
    const current = new VoiceSession({ ...this.sessionOptions, prepared });
    this.session = current;
    // The attempt starts with the click, never with preparing: that is what click-to-connected measures.
    this.#attempt = { startedAt: performance.now(), connected: false };
    announce(this.root, 'voice:attempt');
    this.#follow(current, reconnecting);
    if (reconnecting) this.setState('reconnecting');
    try {
      await current.start();
    } catch (thrown) {
      if (this.session !== current) return; // hung up meanwhile: finish() has announced the attempt's end
      const error = asVoiceError(thrown);
      this.#endAttempt(`${error.kind}: ${error.message}`);
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

  /** Passes on what the attempt reports while it is the current one. */
  #follow(current, reconnecting) {
    const relay = (type, name, detailOf) =>
      current.addEventListener(type, (event) => {
        if (this.session === current) announce(this.root, name, detailOf(event.detail));
      });
    current.addEventListener('state', (event) => {
      // While reconnecting the page says "Reconnecting…" throughout, not each attempt's steps.
      if (!reconnecting && this.session === current) this.setState(event.detail.state);
    });
    relay('minted', 'voice:minted', ({ expiresAt }) => ({ expiresAt }));
    relay('server-event', 'voice:server-event', (event) => ({ event }));
    relay('client-event', 'voice:client-event', (event) => ({ event }));
    relay('playback-blocked', 'voice:playback-blocked', ({ error }) => ({ error }));
    current.addEventListener('lost', (event) => this.#lost(current, event.detail.reason));
  }

  #connected(current, reconnected) {
    this.#attempt.connected = true;
    const connectMs = Math.round(performance.now() - this.#attempt.startedAt);
    if (reconnected) {
      this.#reconnectsDone = 0;
      notice(
        this.root,
        'Reconnected. This is a new Realtime session: the agent does not remember the earlier conversation.',
        'info',
      );
      announce(this.root, 'voice:note', { text: 'Reconnected (new session).' });
    }
    announce(this.root, 'voice:connected', { session: current, reconnected, connectMs });
    this.setState('connected');
  }

  #lost(lostSession, reason) {
    if (lostSession !== this.session) return;
    this.#endAttempt(`connection lost: ${reason}`);
    this.#release();
    this.#scheduleReconnect(`The connection was lost (${reason}).`);
  }

  #scheduleReconnect(why) {
    const delay = RECONNECT_DELAYS_MS[this.#reconnectsDone];
    this.#reconnectsDone += 1;
    this.session = null;
    this.setState('reconnecting');
    notice(
      this.root,
      `${why} Reconnecting in ${delay / 1000} s (attempt ${this.#reconnectsDone} of ${RECONNECT_DELAYS_MS.length})…`,
      'warn',
    );
    this.#reconnectTimer = setTimeout(() => this.#connect({ reconnecting: true }), delay);
  }

  /** Announces the end of the current attempt, once (a drop and the hang-up that may follow it both end it). */
  #endAttempt(reason) {
    const attempt = this.#attempt;
    if (!attempt) return;
    this.#attempt = null;
    announce(this.root, 'voice:attempt-ended', { reason, connected: attempt.connected });
  }

  /** Stops the attempt's media, channel and peer, then tells the page's parts; safe to call twice. */
  #release() {
    const ending = this.session;
    this.session = null;
    ending?.stop();
    announce(this.root, 'voice:released');
  }
}
