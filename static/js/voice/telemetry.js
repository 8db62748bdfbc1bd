/** Reports each connection attempt to the server (connected, failed, ended) for the admin activity record. */

import { randomId } from './random-id.js';
import { addUsage, emptyUsage, estimateCost, roundCost, telemetryUsage } from './usage.js';

/** One admin session (Start to hang-up) may span several attempts; each is reported under its own id. */
export class CallTelemetry {
  #attempt = null; // {id, startedAt, connectedAt, usage} of the current attempt

  constructor({ url, mode, csrfToken, prices }) {
    Object.assign(this, { url, mode, csrfToken, prices });
  }

  begin() {
    this.#attempt = { id: randomId(), startedAt: performance.now(), connectedAt: null, usage: emptyUsage() };
  }

  /** True from the attempt's connect until its end is reported. */
  get isConnected() {
    return Boolean(this.#attempt?.connectedAt);
  }

  /** Reports the connect; returns how long connecting took, in ms, for the page to show. */
  connected() {
    this.#attempt.connectedAt = performance.now();
    const connectMs = Math.round(this.#attempt.connectedAt - this.#attempt.startedAt);
    this.#post({ event: 'connected', connectMs });
    return connectMs;
  }

  /** An attempt that never connected; nothing more is reported for it. */
  failed(reason) {
    this.#post({ event: 'failed', reason });
    this.#attempt = null;
  }

  /** Reports a connected attempt's end, once (a drop and the hang-up that may follow it both end it). */
  ended(reason) {
    const attempt = this.#attempt;
    if (!attempt?.connectedAt) return;
    this.#post({
      event: 'ended',
      reason,
      connectMs: Math.round(attempt.connectedAt - attempt.startedAt),
      durationMs: Math.round(performance.now() - attempt.connectedAt),
      usage: telemetryUsage(attempt.usage),
      estimatedCostUsd: roundCost(estimateCost(attempt.usage, this.prices)),
    });
    attempt.connectedAt = null;
  }

  /** One response.done's usage, counted towards the attempt's "ended" report. */
  addUsage(usage) {
    if (this.#attempt) addUsage(this.#attempt.usage, usage);
  }

  forget() {
    this.#attempt = null;
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
