/** Whether the microphone is live: the Mute button, and push-to-talk (button or space) when turn detection is off. */

export class MicrophoneSwitch {
  muted = false;
  pushToTalk = false; // turn detection off: the mic is live only while the talk button or space is held
  talking = false;

  /** call: the VoiceCall, whose session's tracks are switched; onTurnEnded(): the admin let go of the talk button. */
  constructor({ call, muteButton, talkButton, onTurnEnded }) {
    Object.assign(this, { call, muteButton, talkButton, onTurnEnded });
  }

  get live() {
    return !this.muted && (!this.pushToTalk || this.talking);
  }

  /** Enables the session's microphone tracks as mute and push-to-talk say. */
  apply() {
    this.call.session?.setMicrophoneEnabled(this.live);
  }

  /** Follows the session's turn detection: none means the admin says when a turn ends. */
  setPushToTalk(on) {
    this.pushToTalk = on;
    this.showTalkButton();
    this.apply();
  }

  showTalkButton() {
    this.talkButton.hidden = !this.pushToTalk;
    this.talkButton.disabled = this.call.state !== 'connected';
  }

  /** The call ended: a talk button still held no longer counts. */
  release() {
    this.talking = false;
    this.talkButton.classList.remove('talking');
  }

  listen() {
    this.muteButton.addEventListener('click', () => this.#toggleMute());
    this.talkButton.addEventListener('pointerdown', () => this.#startTalking());
    for (const type of ['pointerup', 'pointerleave', 'pointercancel']) {
      this.talkButton.addEventListener(type, () => this.#stopTalking());
    }
    document.addEventListener('keydown', (event) => {
      if (event.code !== 'Space' || event.repeat || !this.pushToTalk || isTyping(event.target)) return;
      event.preventDefault();
      this.#startTalking();
    });
    document.addEventListener('keyup', (event) => {
      if (event.code !== 'Space' || !this.talking) return;
      event.preventDefault();
      this.#stopTalking();
    });
    // A key released in another window never sends keyup here.
    window.addEventListener('blur', () => this.#stopTalking());
  }

  #toggleMute() {
    this.muted = !this.muted;
    this.muteButton.setAttribute('aria-pressed', String(this.muted));
    this.muteButton.textContent = this.muted ? 'Unmute' : 'Mute';
    this.apply();
  }

  #startTalking() {
    if (!this.pushToTalk || this.talking || this.call.state !== 'connected') return;
    this.talking = true;
    this.talkButton.classList.add('talking');
    this.call.session.send({ type: 'input_audio_buffer.clear' }); // drop anything heard before the press
    this.apply();
  }

  #stopTalking() {
    if (!this.talking) return;
    this.talking = false;
    this.talkButton.classList.remove('talking');
    this.apply();
    // With turn detection off the agent only answers when told the turn is over.
    this.call.session?.send({ type: 'input_audio_buffer.commit' });
    this.onTurnEnded();
  }
}

function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}
