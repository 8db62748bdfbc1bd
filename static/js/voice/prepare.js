/**
 * "Instant start": a call prepared before the Start click (prepared-call.js), so the click only posts the offer and
 * opens the microphone. In ephemeral mode its secret is minted with {"prepare": true}. Any error while preparing
 * leaves nothing prepared: the click then prepares its own call first (session.js).
 */

import { mintSecret } from './mint.js';
import { prepareCall } from './prepared-call.js';

// A prepared call is remade before its secret expires, and at least this often (its host candidates, TURN
// credentials and secret all age).
const MAX_AGE_MS = 5 * 60_000;
const SECRET_MARGIN_MS = 15_000; // remade this long before the secret expires
const MIN_REFRESH_MS = 20_000; // never more often than this, whatever the secret's lifetime
// Keeping a call ready costs one mint per secret lifetime; a page nobody touched for this long stops doing it
// and prepares again on the next sign of intent (hover or focus of Start, the tab shown again).
const IDLE_STOP_MS = 10 * 60_000;

/** When a call prepared at `madeAt` with this mint (null in relay mode) should be remade. */
function freshUntil(madeAt, minted) {
  const until = madeAt + MAX_AGE_MS;
  if (!minted) return until;
  // expires_at is OpenAI's Unix seconds; a skewed clock here is bounded by MIN_REFRESH_MS and MAX_AGE_MS, and
  // a secret refused at the click is replaced by one more mint (session.js).
  const ttlMs = Number(minted.token.expires_at) * 1000 - Date.now();
  return Math.min(until, madeAt + Math.max(MIN_REFRESH_MS, ttlMs - SECRET_MARGIN_MS));
}

/**
 * Keeps at most one PreparedCall ready while the page is idle. take() hands it to a click (or null: the click
 * prepares its own); the end of each call (voice:ended on `root`) prepares the next one. State on
 * `root.dataset.prepared`: off, preparing, ready, failed, taken, released (the tests and bench/bench_connect.py
 * wait on it).
 */
export class CallPreparer {
  #current = null; // {promise, abort, call: PreparedCall|null}
  #timer = null;
  #inCall = false;
  #paused = false;
  #lastIntent = Date.now();

  constructor({ mode, secretUrl, csrfToken, iceServers, enabled, root }) {
    Object.assign(this, { mode, secretUrl, csrfToken, iceServers, enabled, root });
    this.#show(enabled ? 'released' : 'off');
    root.addEventListener('voice:ended', () => this.#afterCall());
  }

  /** Starts preparing (again), dropping whatever was prepared. */
  prepare() {
    if (!this.enabled || this.#inCall || this.#paused) return;
    if (!window.isSecureContext || typeof RTCPeerConnection === 'undefined') return this.#show('off');
    this.#drop();
    const abort = new AbortController();
    const entry = { abort, call: null, promise: null };
    this.#show('preparing');
    const { secretUrl, csrfToken } = this;
    const mint = () => mintSecret({ secretUrl, csrfToken, signal: abort.signal, prepare: true });
    entry.promise = prepareCall({
      iceServers: this.iceServers,
      mint: this.mode === 'relay' ? null : mint,
      signal: abort.signal,
    }).then(
      (call) => {
        if (this.#current !== entry) {
          call.close();
          return null;
        }
        call.freshUntil = freshUntil(call.madeAt, call.minted);
        entry.call = call;
        this.#show('ready');
        this.#scheduleRefresh(call);
        call.pc.addEventListener('connectionstatechange', () => {
          if (this.#current === entry && call.pc.connectionState === 'failed') this.prepare();
        });
        return call;
      },
      (error) => {
        if (this.#current === entry) {
          this.#show('failed');
          console.warn('voice: preparing the call failed; Start will prepare its own', error);
        }
        return null;
      },
    );
    this.#current = entry;
  }

  /** For a click: a promise of the fresh PreparedCall (now the caller's to close), or of null. */
  take() {
    const entry = this.#current;
    this.#current = null;
    this.#inCall = true;
    clearTimeout(this.#timer);
    if (!entry) return Promise.resolve(null);
    this.#show('taken');
    return entry.promise.then((call) => {
      if (call?.fresh) return call;
      call?.close(); // stale: the click prepares a fresh one, as fast as preparing again now would
      return null;
    });
  }

  /** After a call ended (hung up, failed, dropped for good): prepare the next one. */
  #afterCall() {
    this.#inCall = false;
    this.prepare();
  }

  /** Leaving the page: close what is prepared and prepare nothing until the page is shown again. */
  release() {
    this.#paused = true;
    this.#drop();
    this.#show('released');
  }

  /** Re-prepares on the signs that a prepared offer may have gone stale, and on the admin's intent. */
  listen(startButton) {
    const intent = () => {
      this.#lastIntent = Date.now();
      if (!this.#current || !this.#isFresh()) this.prepare();
    };
    for (const type of ['pointerenter', 'focus', 'touchstart']) {
      startButton.addEventListener(type, intent, { passive: true });
    }
    // A new network: the host candidates in the offer are stale.
    window.addEventListener('online', () => this.prepare());
    document.addEventListener('visibilitychange', () => {
      // Timers sleep in hidden tabs: check on the way back.
      if (document.visibilityState === 'visible' && !this.#isFresh()) this.prepare();
    });
    window.addEventListener('pageshow', (event) => {
      if (!event.persisted) return; // back from the back/forward cache: pagehide released the prepared call
      this.#paused = false;
      this.prepare();
    });
    for (const type of ['pointerdown', 'keydown']) {
      document.addEventListener(type, () => (this.#lastIntent = Date.now()), { passive: true });
    }
  }

  #isFresh() {
    const call = this.#current?.call;
    return this.#current && (call ? call.fresh : true); // a preparation under way counts as fresh
  }

  #scheduleRefresh(call) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (Date.now() - this.#lastIntent > IDLE_STOP_MS) return; // idle page: the next intent prepares again
      this.prepare();
    }, Math.max(0, call.freshUntil - Date.now()));
  }

  #drop() {
    clearTimeout(this.#timer);
    const entry = this.#current;
    this.#current = null;
    if (!entry) return;
    entry.abort.abort();
    entry.call?.close();
  }

  #show(state) {
    if (this.root) this.root.dataset.prepared = state;
  }
}
