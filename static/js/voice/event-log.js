/** The event log: the last few hundred data-channel events in both directions, expandable and filterable. */

export class EventLog {
  /**
   * Constructed before the other parts, so each event is logged before anything it causes (listeners run in the
   * order they were added): an answer to an event shows above it, newest first.
   */
  constructor({ root, list, filterInput, countOutput, limit = 300 }) {
    Object.assign(this, { list, filterInput, countOutput, limit });
    this.total = 0;
    filterInput.addEventListener('input', () => this.#applyFilter());
    root.addEventListener('voice:server-event', ({ detail }) => this.add('in', detail.event));
    root.addEventListener('voice:client-event', ({ detail }) => this.add('out', detail.event));
  }

  /** direction: "in" (from the agent) or "out" (sent by this page). */
  add(direction, event) {
    this.total += 1;
    const type = String(event?.type ?? 'unknown');
    const item = document.createElement('li');
    item.className = `log-${direction}`;
    item.dataset.type = type;
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    const time = document.createElement('time');
    time.textContent = new Date().toLocaleTimeString([], { hour12: false });
    const arrow = document.createElement('span');
    arrow.className = 'log-direction';
    arrow.textContent = direction === 'in' ? '↓ in' : '↑ out';
    arrow.title = direction === 'in' ? 'from the agent' : 'sent by this page';
    const name = document.createElement('code');
    name.textContent = type;
    summary.append(time, ' ', arrow, ' ', name);
    const json = document.createElement('pre');
    details.append(summary, json);
    // Most events are never opened: build the JSON only when someone looks.
    details.addEventListener('toggle', () => {
      if (details.open && !json.textContent) json.textContent = JSON.stringify(event, null, 2);
    }, { once: true });
    item.append(details);
    item.hidden = !this.#matches(type);
    this.list.prepend(item);
    while (this.list.children.length > this.limit) this.list.lastElementChild.remove();
    this.#count();
  }

  #matches(type) {
    const filter = this.filterInput.value.trim().toLowerCase();
    return !filter || type.toLowerCase().includes(filter);
  }

  #applyFilter() {
    for (const item of this.list.children) item.hidden = !this.#matches(item.dataset.type);
    this.#count();
  }

  #count() {
    const kept = this.list.children.length;
    const shown = [...this.list.children].filter((item) => !item.hidden).length;
    const dropped = this.total - kept;
    this.countOutput.textContent =
      `${shown} of ${kept} shown` + (dropped > 0 ? ` (${dropped} older events dropped)` : '');
  }
}
