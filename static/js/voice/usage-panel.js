/** The usage table: tokens and responses of the admin's whole session (all its attempts), and their cost. */

import { onServerEvents } from './events.js';
import { addUsage, emptyUsage, estimateCost, roundCost } from './usage.js';

export class UsagePanel {
  /** outputs: an element per usage key, plus `responses` and `cost`. */
  constructor({ root, outputs, prices }) {
    Object.assign(this, { outputs, prices });
    this.totals = emptyUsage();
    this.responses = 0;
    root.addEventListener('voice:starting', () => this.#reset());
    onServerEvents(root, { 'response.done': (event) => this.#add(event.response?.usage) });
  }

  #reset() {
    this.totals = emptyUsage();
    this.responses = 0;
    this.#render();
  }

  /** One response.done's response.usage. */
  #add(usage) {
    this.responses += 1;
    addUsage(this.totals, usage);
    this.#render();
  }

  #render() {
    for (const [key, output] of Object.entries(this.outputs)) {
      if (key in this.totals) output.textContent = this.totals[key].toLocaleString();
    }
    this.outputs.responses.textContent = String(this.responses);
    const cost = roundCost(estimateCost(this.totals, this.prices));
    this.outputs.cost.textContent = cost === null ? 'not priced' : `$${cost.toFixed(4)}`;
  }
}
