/** A button that turns on the agent's audio when the browser's autoplay policy kept it from playing. */

export class AutoplayButton {
  /** audio: the agent's audio element; notice: the box around the button, hidden while audio plays. */
  constructor({ root, audio, notice, button }) {
    Object.assign(this, { audio, notice, button });
    // A click is the gesture the browser waits for: play() called from it is allowed.
    button.addEventListener('click', () => {
      audio.play().catch((error) => this.#blocked(error));
    });
    audio.addEventListener('playing', () => this.#hide());
    root.addEventListener('voice:playback-blocked', ({ detail }) => this.#blocked(detail.error));
    root.addEventListener('voice:released', () => this.#hide());
  }

  /** play() was refused: a NotAllowedError is the autoplay policy, which a click lifts. */
  #blocked(error) {
    if (error?.name !== 'NotAllowedError') {
      console.warn('the agent audio did not start', error); // AbortError: the call ended or its stream changed
      return;
    }
    if (this.audio.srcObject) this.notice.hidden = false;
  }

  #hide() {
    this.notice.hidden = true;
  }
}
