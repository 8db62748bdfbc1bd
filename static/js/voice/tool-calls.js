/**
 * The agent's tool calls: each function call the model makes is run by our server (never in the browser), shown
 * in the conversation, and its output handed back to the model, which then answers aloud. A call the admin must
 * approve comes back as approval_required with a one-time approval id; Approve posts the call again with it.
 */

const DECLINED = 'The admin declined this call, so it was not made. Say so, and ask what to do instead.';

export class ToolCalls {
  #seen = new Set(); // call_ids already handled: each call runs once

  /**
   * url: POST /api/v1/realtime/tool-calls ('' without an agent file); csrfToken; call: the VoiceCall; responses:
   * the Responses; list: the conversation's list; view: the StatusView for failures. (approvalTools is no longer
   * needed: the server says which calls need approval, and binds each approval to its call.)
   */
  constructor({ url, csrfToken, call, responses, list, view }) {
    Object.assign(this, { url, csrfToken, call, responses, list, view });
  }

  /** response.function_call_arguments.done: the model asks for a tool. */
  requested(event) {
    const { call_id: callId, name, arguments: args } = event;
    if (!callId || this.#seen.has(callId)) return;
    this.#seen.add(callId);
    const entry = new ToolCallEntry(this.list, name, args);
    const session = this.call.session;
    if (!this.url) {
      this.#failed(session, { callId, name, entry }, 'this console has no agent file, so it has no tools');
      return;
    }
    this.#run({ callId, name, args, entry, session }, null);
  }

  async #run(toolCall, approvalId) {
    const { callId, name, args, entry } = toolCall;
    entry.running();
    let reply;
    const body = { name, arguments: args, call_id: callId, ...(approvalId ? { approval_id: approvalId } : {}) };
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': this.csrfToken },
        body: JSON.stringify(body),
      });
      reply = await response.json().catch(() => ({ message: `HTTP ${response.status}` }));
    } catch (error) {
      reply = { message: `the server could not be reached (${error.message})` };
    }
    if (reply?.status === 'success') {
      entry.ran(reply.data.ms);
      this.#answer(toolCall.session, callId, reply.data.output);
    } else if (reply?.code === 'approval_required' && reply.approval?.id) {
      this.#ask(toolCall, reply.approval.id);
    } else {
      this.#failed(toolCall.session, toolCall, reply?.message || 'no reason given', reply?.code);
    }
  }

  #ask(toolCall, approvalId) {
    toolCall.entry.askApproval({
      approve: () => this.#decided(toolCall, () => this.#run(toolCall, approvalId)),
      deny: () =>
        this.#decided(toolCall, () => {
          toolCall.entry.declined();
          this.#answer(toolCall.session, toolCall.callId, DECLINED);
        }),
    });
  }

  /** The admin's decision counts only while the call that asked is still the live one. */
  #decided(toolCall, then) {
    if (toolCall.session !== this.call.session) {
      toolCall.entry.finish('not made: that call has ended', 'tool-failed');
      return;
    }
    then();
  }

  #failed(session, { callId, name, entry }, message, code) {
    entry.failed(message, code);
    this.view.showMessage(`The tool ${name} failed: ${message}`, 'warn');
    this.#answer(session, callId, `The tool failed: ${message}`);
  }

  /** Hands the output to the model and asks it to answer (the model says what the tool found, or what failed). */
  #answer(session, callId, output) {
    if (!session || session !== this.call.session) return;
    const sent = session.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: callId, output: String(output ?? '') },
    });
    if (sent) this.responses.request();
  }
}

/** One tool call in the conversation: its name and arguments, then how long it took, or why it failed. */
class ToolCallEntry {
  constructor(list, name, args) {
    this.name = name;
    this.item = document.createElement('li');
    this.item.className = 'turn turn-tool';
    const who = document.createElement('span');
    who.className = 'turn-who';
    who.textContent = 'Tool';
    const tool = document.createElement('code');
    tool.className = 'tool-name';
    tool.textContent = name;
    const shown = document.createElement('code');
    shown.className = 'tool-arguments';
    shown.textContent = args || '{}';
    this.result = document.createElement('span');
    this.result.className = 'tool-result';
    this.item.append(who, tool, ' ', shown, ' ', this.result);
    list.append(this.item);
    this.item.scrollIntoView?.({ block: 'nearest' });
  }

  running() {
    this.finish('running…', 'pending');
  }

  ran(ms) {
    this.finish(`ran in ${Math.round(ms)} ms`, 'tool-ok');
  }

  failed(message, code) {
    this.finish(`failed${code ? ` (${code})` : ''}: ${message}`, 'tool-failed');
  }

  declined() {
    this.finish('declined by you; the agent was told', 'tool-declined');
  }

  /** Approve / Deny buttons; each works once. */
  askApproval({ approve, deny }) {
    this.finish('needs your approval: ', 'tool-approval');
    for (const [words, action] of [
      ['Approve', approve],
      ['Deny', deny],
    ]) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = `tool-${words.toLowerCase()}${words === 'Deny' ? ' secondary' : ''}`;
      button.textContent = words;
      button.setAttribute('aria-label', `${words} ${this.name}`);
      button.addEventListener('click', () => {
        for (const other of this.result.querySelectorAll('button')) other.remove();
        action();
      });
      this.result.append(button, ' ');
    }
    this.item.scrollIntoView?.({ block: 'nearest' });
  }

  finish(words, className) {
    this.result.replaceChildren(words);
    this.result.className = `tool-result ${className}`;
  }
}
