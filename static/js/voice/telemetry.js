/** Reports each connection attempt to the server (connected, failed, ended) for the admin activity record. */

import { onServerEvents } from './events.js';
import { randomId } from './random-id.js';
import { addUsage, emptyUsage, estimateCost, roundCost, telemetryUsage } from './usage.js';

/** One admin session (Start to hang-up) may span several attempts; each is reported under its own id. */
export class CallTelemetry {
  #attempt = null; // {id, connectMs, connectedAt, usage} of the current attempt

  constructor({ root, url, mode, csrfToken, prices }) {
    Object.assign(this, { url, mode, csrfToken, prices });
    root.addEventListener('voice:attempt', () => {
      this.#attempt = { id: randomId(), connectMs: null, connectedAt: null, usage: emptyUsage() };
    });
    root.addEventListener('voice:connected', ({ detail }) => this.#connected(detail.connectMs));
    root.addEventListener('voice:attempt-ended', ({ detail }) => {
      if (detail.connected) this.#ended(detail.reason);
      else this.#post({ event: 'failed', reason: detail.reason });
      this.#attempt = null; // nothing more is reported for it
    });
    onServerEvents(root, {
      // Each answer's usage counts towards the attempt's "ended" report.
      'response.done': (event) => this.#attempt && addUsage(this.#attempt.usage, event.response?.usage),
    });
  }

  #connected(connectMs) {
    Object.assign(this.#attempt, { connectMs, connectedAt: performance.now() });
    this.#post({ event: 'connected', connectMs });
  }

  #ended(reason) {
    const attempt = this.#attempt;
    this.#post({
      event: 'ended',
      reason,
      connectMs: attempt.connectMs,
      durationMs: Math.round(performance.now() - attempt.connectedAt),
      usage: telemetryUsage(attempt.usage),
      estimatedCostUsd: roundCost(estimateCost(attempt.usage, this.prices)),
    });
  }

  #post(fields) {
    if (!this.#attempt) return;
    const body = {
      attemptId: this.#attempt.id,
      mode: this.mode,
      reason: null,
      connectMs: null,
      durationMs: null,
      usage: null,
      estimatedCostUsd: null,
      ...fields,
    };
    // keepalive lets the "ended" report of a closing tab still reach the server.
    fetch(this.url, {
      method: 'POST',
      keepalive: true,
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': this.csrfToken },
      body: JSON.stringify(body),
    })
      .then((response) => {
        // 404: a server without the activity record; telemetry is best effort and never bothers the admin.
        if (!response.ok && response.status !== 404) console.warn('voice telemetry refused', response.status);
      })
      .catch((error) => console.warn('voice telemetry not sent', error));
  }
}
