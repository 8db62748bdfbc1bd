/**
 * Shows an answer while it streams: the agent's text as it comes and its tool calls ("Running …", then "Ran …"),
 * as plain text in the page's live region. Once the answer is done the page swaps in the server's rendering
 * (markdown, approval cards), so nothing here ever parses the model's text as HTML.
 */

const FAILED_TOOL = /^(\S+) failed \(([^)]+)\)$/;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class StreamView {
  constructor(region) {
    this.region = region;
    this.items = new Map(); // item id -> {node, kind}
    this.pending = new Set(); // added, not yet done
  }

  clear() {
    this.region.replaceChildren();
    this.items.clear();
    this.pending.clear();
  }

  /** Whether an item began but never finished: the stream ended early. */
  get unfinished() {
    return this.pending.size > 0;
  }

  /** The agent's text so far, all messages of this answer together. */
  get text() {
    return [...this.region.querySelectorAll('.chat-text')].map((node) => node.textContent).join('\n');
  }

  apply(event) {
    switch (event.type) {
      case 'thread.item.added':
        this.#added(event.item);
        break;
      case 'thread.item.updated':
        this.#updated(event.item_id, event.update);
        break;
      case 'thread.item.done':
        this.#done(event.item);
        break;
      default:
        break;
    }
  }

  #added(item) {
    if (item.type === 'assistant_message') {
      this.pending.add(item.id);
      this.#message(item.id).textContent = (item.content || []).map((part) => part.text || '').join('');
    } else if (item.type === 'workflow') {
      this.pending.add(item.id);
      this.#showTasks(item.id, item.workflow?.tasks || []);
    }
  }

  #updated(itemId, update) {
    if (update.type === 'assistant_message.content_part.text_delta') {
      this.#message(itemId).textContent += update.delta;
    } else if (update.type === 'workflow.task.added' || update.type === 'workflow.task.updated') {
      const entry = this.items.get(itemId);
      const tasks = entry?.tasks || [];
      tasks[update.task_index] = update.task;
      this.#showTasks(itemId, tasks);
    }
  }

  #done(item) {
    this.pending.delete(item.id);
    if (item.type === 'assistant_message') {
      this.#message(item.id).textContent = (item.content || []).map((part) => part.text || '').join('');
    } else if (item.type === 'workflow') {
      this.#showTasks(item.id, item.workflow?.tasks || []);
    } else if (item.type === 'widget') {
      const note = 'The agent asks for your approval: the card follows.';
      this.region.append(element('p', 'chat-item chat-card hint', note));
    }
  }

  #message(itemId) {
    const known = this.items.get(itemId);
    if (known) return known.text;
    const bubble = element('div', 'chat-item chat-assistant chat-streaming');
    bubble.append(element('p', 'chat-who', 'Agent'));
    const text = element('p', 'chat-text');
    bubble.append(text);
    this.region.append(bubble);
    this.items.set(itemId, { node: bubble, text });
    return text;
  }

  #showTasks(itemId, tasks) {
    let entry = this.items.get(itemId);
    if (!entry) {
      entry = { node: element('ul', 'chat-item chat-tools tool-tasks'), tasks };
      entry.node.setAttribute('aria-label', 'Tool calls');
      this.region.append(entry.node);
      this.items.set(itemId, entry);
    }
    entry.tasks = tasks;
    entry.node.replaceChildren(...tasks.filter(Boolean).map((task) => {
      const title = task.title || 'A step of the answer';
      const failed = FAILED_TOOL.test(title);
      const row = element('li', `tool-task${failed ? ' tool-failed' : ''}`);
      row.append(element('p', 'tool-title', failed && task.content ? `${title}: ${task.content}` : title));
      return row;
    }));
  }
}
