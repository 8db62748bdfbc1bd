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
  /** connectedOnly(): the controls usable only during a connected call (asked each time: forms may change). */
  constructor({ state, start, hangup, connectTime, message, messageText, reconnect, connectedOnly }) {
    Object.assign(this, { state, start, hangup, connectTime, message, messageText, reconnect, connectedOnly });
  }

  showState(next) {
    this.state.textContent = STATE_WORDS[next];
    this.state.className = `voice-state state-${next}`;
    const active = ACTIVE_STATES.includes(next);
    this.start.disabled = active;
    this.hangup.disabled = !active;
    for (const control of this.connectedOnly()) control.disabled = next !== 'connected';
  }

  /** kind: "error" (with the Reconnect button), "warn" or "info"; null hides the message. */
  showMessage(text, kind = 'error', { reconnect = false } = {}) {
    this.message.hidden = !text;
    this.message.className = `notice notice-${kind}`;
    this.messageText.textContent = text ?? '';
    this.reconnect.hidden = !reconnect;
  }

  connecting() {
    this.connectTime.textContent = '…';
  }

  showConnectTime(connectMs, reconnected) {
    this.connectTime.textContent = `${connectMs} ms${reconnected ? ' (reconnect)' : ''}`;
    this.connectTime.dataset.ms = String(connectMs);
  }
}
