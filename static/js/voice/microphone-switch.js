/** Whether the microphone is live: the Mute button, and push-to-talk (button or space) when turn detection is off. */

import { announce, onServerEvents } from './events.js';

export class MicrophoneSwitch {
  muted = false;
  pushToTalk = false; // turn detection off: the mic is live only while the talk button or space is held
  talking = false;

  /** call: the VoiceCall, whose session's tracks are switched and which carries the push-to-talk turn's end. */
  constructor({ root, call, muteButton, talkButton }) {
    Object.assign(this, { root, call, muteButton, talkButton });
    root.addEventListener('voice:connected', () => this.#apply());
    root.addEventListener('voice:state', () => this.#showTalkButton());
    root.addEventListener('voice:released', () => this.#release());
    onServerEvents(root, {
      'session.created': (event) => this.#followTurnDetection(event.session),
      'session.updated': (event) => this.#followTurnDetection(event.session),
    });
    this.#listen();
  }

  get live() {
    return !this.muted && (!this.pushToTalk || this.talking);
  }

  /** Enables the session's microphone tracks as mute and push-to-talk say. */
  #apply() {
    this.call.session?.setMicrophoneEnabled(this.live);
    announce(this.root, 'voice:microphone', { live: this.live });
  }

  /** The turn detection in force, when the event carries it: none (null) means the admin says when a turn ends. */
  #followTurnDetection(effective) {
    const detection = effective?.audio?.input?.turn_detection;
    if (detection === undefined) return;
    this.pushToTalk = detection === null;
    this.#showTalkButton();
    this.#apply();
  }

  #showTalkButton() {
    this.talkButton.hidden = !this.pushToTalk;
    this.talkButton.disabled = this.call.state !== 'connected';
  }

  /** The call ended: a talk button still held no longer counts. */
  #release() {
    this.talking = false;
    this.talkButton.classList.remove('talking');
  }

  #listen() {
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
    this.#apply();
  }

  #startTalking() {
    if (!this.pushToTalk || this.talking || this.call.state !== 'connected') return;
    this.talking = true;
    this.talkButton.classList.add('talking');
    this.call.session.send({ type: 'input_audio_buffer.clear' }); // drop anything heard before the press
    this.#apply();
  }

  #stopTalking() {
    if (!this.talking) return;
    this.talking = false;
    this.talkButton.classList.remove('talking');
    this.#apply();
    // With turn detection off the agent only answers when told the turn is over.
    this.call.session?.send({ type: 'input_audio_buffer.commit' });
    announce(this.root, 'voice:response-wanted');
  }
}

function isTyping(target) {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}
