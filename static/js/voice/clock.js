/** The once-a-second readouts of a connected call: time left before the session cap, and audio bytes. */

export class SessionClock {
  #deadline = null; // Date.now() at which the cap ends the call; kept across reconnects, so a drop does not reset it
  #timer = null;

  /** call: the VoiceCall, read for its state and session and told to finish at the cap. */
  constructor({ root, call, remaining, audioBytes, maxSessionMs }) {
    Object.assign(this, { call, remaining, audioBytes, maxSessionMs });
    root.addEventListener('voice:starting', () => (this.#deadline = null)); // a new admin session: the whole cap
    root.addEventListener('voice:connected', () => this.#start());
    root.addEventListener('voice:released', () => this.#stop());
  }

  /** On each connect; the cap counts from the first connect of the admin's session. */
  #start() {
    this.#deadline ??= Date.now() + this.maxSessionMs;
    clearInterval(this.#timer);
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), 1000);
  }

  #stop() {
    clearInterval(this.#timer);
    this.#timer = null;
  }

  async #tick() {
    const { call } = this;
    if (call.state !== 'connected' || !call.session) return;
    const left = Math.max(0, this.#deadline - Date.now());
    this.remaining.textContent = formatClock(left);
    if (left === 0) {
      const minutes = this.maxSessionMs / 60_000;
      call.finish('ended', 'session cap reached', {
        message:
          `The session reached its ${minutes}-minute limit (VOICE_MAX_SESSION_MINUTES) and was ended. ` +
          'Press Start Voice Session to continue.',
        kind: 'info',
      });
      return;
    }
    const bytes = await call.session.audioBytes().catch(() => null);
    if (bytes) this.audioBytes.textContent = `${kilobytes(bytes.sent)} sent · ${kilobytes(bytes.received)} received`;
  }
}

function formatClock(ms) {
  const seconds = Math.ceil(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function kilobytes(bytes) {
  return `${(bytes / 1024).toFixed(1)} kB`;
}
