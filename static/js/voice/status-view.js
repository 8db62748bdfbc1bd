/** The call's status line, the buttons that depend on it, the connect time and the message box. */

import { ACTIVE_STATES } from './call.js';

const STATE_WORDS = {
  idle: 'Idle',
  'waiting-for-microphone': 'Waiting for the microphone…',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  ended: 'Ended',
  error: 'Error',
};

export class StatusView {
  /** connectedOnly: a selector of the controls usable only during a connected call (looked up each time). */
  constructor({ root, state, start, hangup, connectTime, message, messageText, reconnect, connectedOnly }) {
    Object.assign(this, { root, state, start, hangup, connectTime, message, messageText, reconnect, connectedOnly });
    root.addEventListener('voice:state', ({ detail }) => this.#showState(detail.state));
    root.addEventListener('voice:notice', ({ detail }) => this.#showMessage(detail));
    root.addEventListener('voice:starting', () => (this.connectTime.textContent = '…'));
    root.addEventListener('voice:connected', ({ detail }) => this.#showConnectTime(detail));
  }

  #showState(next) {
    this.state.textContent = STATE_WORDS[next];
    this.state.className = `voice-state state-${next}`;
    const active = ACTIVE_STATES.includes(next);
    this.start.disabled = active;
    this.hangup.disabled = !active;
    for (const control of this.root.querySelectorAll(this.connectedOnly)) control.disabled = next !== 'connected';
  }

  /** kind: "error" (with the Reconnect button when asked), "warn" or "info"; a null text hides the message. */
  #showMessage({ text, kind = 'error', reconnect = false }) {
    this.message.hidden = !text;
    this.message.className = `notice notice-${kind}`;
    this.messageText.textContent = text ?? '';
    this.reconnect.hidden = !reconnect;
  }

  #showConnectTime({ connectMs, reconnected }) {
    this.connectTime.textContent = `${connectMs} ms${reconnected ? ' (reconnect)' : ''}`;
    this.connectTime.dataset.ms = String(connectMs);
  }
}
