/**
 * The agent's tool calls, taken as OpenAI's Agents SDKs take them (agents-js openaiRealtimeBase.ts, agents-python
 * openai_realtime.py): a call starts when its function_call item is done (response.output_item.done) with status
 * completed, never on response.function_call_arguments.done, which also comes for answers that were interrupted,
 * cancelled or cut short. Each call is run by our server (never in the browser), shown in the conversation, and
 * its output handed back once, by call_id. All the calls of one response run side by side; one that needs the
 * admin's approval waits for it. After the response's last output the page asks for one answer
 * (voice:response-wanted; responses.js sequences the response.create). A response that ends cancelled,
 * incomplete or failed starts nothing more: its approval prompts are withdrawn in words, and no answer is asked for.
 * A call the admin must approve comes back as approval_required with a one-time approval id, bound by the server to
 * this call and its arguments; Approve posts the call again with that id.
 */

import { announce, notice, onServerEvents } from './events.js';

const DECLINED = 'The admin declined this call, so it was not made. Say so, and ask what to do instead.';
// Why calls of a response that did not complete were not made, by its response.done status.
const NOT_MADE = {
  cancelled: 'the answer was interrupted',
  incomplete: 'the answer was cut short',
  failed: 'the answer failed',
};

export class ToolCalls {
  #answers = new Map(); // response_id -> {status (null until response.done), calls: Map call_id -> call, cut: []}
  #seen = new Set(); // call_ids already taken: each call runs once

  /**
   * url: POST /api/v1/realtime/tool-calls ('' without an agent file); csrfToken; call: the VoiceCall, whose session
   * gets the outputs; list: the conversation's list. (No list of the tools that ask: the server says which calls need
   * approval, and binds each approval to its call.)
   */
  constructor({ root, url, csrfToken, call, list }) {
    Object.assign(this, { root, url, csrfToken, call, list });
    onServerEvents(root, {
      'response.output_item.done': (event) => this.#itemDone(event),
      'response.done': (event) => this.#responseDone(event.response ?? {}),
    });
    root.addEventListener('voice:released', () => this.#released());
  }

  #answerOf(responseId) {
    if (!this.#answers.has(responseId)) this.#answers.set(responseId, { status: null, calls: new Map(), cut: [] });
    return this.#answers.get(responseId);
  }

  /** response.output_item.done: a function_call item the model finished (completed) or left unfinished. */
  #itemDone({ response_id: responseId, item }) {
    if (item?.type !== 'function_call') return;
    const answer = this.#answerOf(responseId);
    if (item.status !== 'completed') {
      answer.cut.push(item); // never run; shown once the response says why it stopped
      return;
    }
    const { call_id: callId, name, arguments: args } = item;
    if (!callId || this.#seen.has(callId)) return;
    this.#seen.add(callId);
    const toolCall = { callId, name, args, answer, session: this.call.session, state: 'new' };
    toolCall.entry = new ToolCallEntry(this.list, name, args);
    answer.calls.set(callId, toolCall);
    if (!this.url) this.#failed(toolCall, 'this console has no agent file, so it has no tools');
    else this.#run(toolCall, null);
  }

  #responseDone(response) {
    const answer = this.#answers.get(response.id);
    if (!answer) return;
    answer.status = response.status;
    const why = this.#notMade(answer);
    if (why) {
      for (const item of answer.cut) new ToolCallEntry(this.list, item.name, item.arguments).notMade(why);
      for (const toolCall of answer.calls.values()) {
        if (toolCall.state === 'asking') this.#withdraw(toolCall, why);
      }
    }
    this.#respondIfAllAnswered(answer);
  }

  /** Why the answer's calls that have not started will not: null while it may still complete, or if it did. */
  #notMade(answer) {
    if (answer.status === null || answer.status === 'completed') return null;
    return NOT_MADE[answer.status] ?? `the answer ended ${answer.status}`;
  }

  /** The call ended: prompts still waiting cannot be decided any more. */
  #released() {
    for (const answer of this.#answers.values()) {
      for (const toolCall of answer.calls.values()) {
        if (toolCall.state === 'asking') toolCall.entry.notMade('that call has ended');
      }
    }
    this.#answers.clear();
  }

  async #run(toolCall, approvalId) {
    const { callId, name, args, entry } = toolCall;
    toolCall.state = 'running';
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
      this.#answer(toolCall, reply.data.output);
    } else if (reply?.code === 'approval_required' && reply.approval?.id) {
      this.#ask(toolCall, reply.approval.id);
    } else {
      this.#failed(toolCall, reply?.message || 'no reason given', reply?.code);
    }
  }

  #ask(toolCall, approvalId) {
    const why = this.#notMade(toolCall.answer);
    if (why) {
      this.#withdraw(toolCall, why);
      return;
    }
    toolCall.state = 'asking';
    toolCall.entry.askApproval({
      approve: () => this.#decided(toolCall, () => this.#run(toolCall, approvalId)),
      deny: () =>
        this.#decided(toolCall, () => {
          toolCall.entry.declined();
          this.#answer(toolCall, DECLINED);
        }),
    });
  }

  /** The admin's decision counts only while the call that asked is still the live one. */
  #decided(toolCall, then) {
    if (toolCall.session !== this.call.session) {
      toolCall.entry.notMade('that call has ended');
      return;
    }
    then();
  }

  /** Takes back the approval prompt of a call whose answer ended unfinished; the model hears it was not made. */
  #withdraw(toolCall, why) {
    toolCall.entry.notMade(why);
    this.#answer(toolCall, `This call was not made: ${why} before the admin approved it.`);
  }

  #failed(toolCall, message, code) {
    toolCall.entry.failed(message, code);
    notice(this.root, `The tool ${toolCall.name} failed: ${message}`, 'warn');
    this.#answer(toolCall, `The tool failed: ${message}`);
  }

  /** Hands the output to the model, once per call_id (the model says what the tool found, or what failed). */
  #answer(toolCall, output) {
    if (toolCall.state === 'answered') return;
    toolCall.state = 'answered';
    const { session } = toolCall;
    if (!session || session !== this.call.session) return;
    session.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: toolCall.callId, output: String(output ?? '') },
    });
    this.#respondIfAllAnswered(toolCall.answer);
  }

  /** After the last output of a response that completed, one answer; an unfinished response gets none. */
  #respondIfAllAnswered(answer) {
    if (answer.status === null) return; // more calls may come
    const calls = [...answer.calls.values()];
    if (!calls.every((toolCall) => toolCall.state === 'answered')) return;
    for (const [id, known] of this.#answers) {
      if (known === answer) this.#answers.delete(id);
    }
    if (answer.status === 'completed' && calls.length) announce(this.root, 'voice:response-wanted');
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

  /** Not made, and why: its approval prompt, if any, is gone. */
  notMade(why) {
    this.finish(`not made: ${why}`, 'tool-not-made');
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
