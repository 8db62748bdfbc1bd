/** The microphone level meter, and a warning when a live microphone has given only silence for a while. */

import { startLevelMeter } from './meter.js';

const SILENCE_RMS = 0.002; // about -54 dBFS: below what even a quiet room gives a live microphone
const SILENCE_WARNING_MS = 6000;

export class SilenceWatch {
  #meter = null;
  #silentSince = null; // performance.now() of the first silent reading in a row
  #connected = false;
  #live = true; // the microphone switch's say (voice:microphone): not muted, nor held back by push-to-talk

  constructor({ root, level, warning }) {
    Object.assign(this, { level, warning });
    root.addEventListener('voice:connected', ({ detail }) => this.#start(detail.session.stream));
    root.addEventListener('voice:released', () => this.#stop());
    root.addEventListener('voice:state', ({ detail }) => (this.#connected = detail.state === 'connected'));
    root.addEventListener('voice:microphone', ({ detail }) => (this.#live = detail.live));
  }

  /** Whether the microphone should be hearing the admin now: connected, not muted or held back. */
  get #listening() {
    return this.#connected && this.#live;
  }

  #start(stream) {
    this.#meter?.stop();
    this.#silentSince = null;
    try {
      this.#meter = startLevelMeter(stream, (level, rms) => this.#onLevel(level, rms));
    } catch (error) {
      console.warn('no microphone level meter (Web Audio unavailable)', error); // the call itself works without it
    }
  }

  #stop() {
    this.#meter?.stop();
    this.#meter = null;
    this.level.value = 0;
    this.warning.hidden = true;
  }

  #onLevel(level, rms) {
    this.level.value = level;
    this.level.textContent = `${Math.round(level * 100)} %`;
    if (!this.#listening || rms > SILENCE_RMS) {
      this.#silentSince = null;
      this.warning.hidden = true;
      return;
    }
    this.#silentSince ??= performance.now();
    if (performance.now() - this.#silentSince > SILENCE_WARNING_MS) this.warning.hidden = false;
  }
}
