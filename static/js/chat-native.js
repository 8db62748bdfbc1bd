/**
 * The native chat view: sends the composer's message to /chatkit (the ChatKit widget's own endpoint) and shows
 * the answer as it streams, with Stop, Retry and errors in words; an approval card's Approve / Deny go the same
 * way. Once an answer is done the server's rendering of the thread replaces the streamed text. Without this
 * module every form still posts, and the server answers once the answer is done.
 */

import { CHANNEL_NAME } from './chat-transcript.js';
import { ChatError, streamError } from './chat/errors.js';
import { cardAction, retryAfter, sendMessage } from './chat/requests.js';
import { chatKitEvents, sendChatKit } from './chat/stream.js';
import { StreamView } from './chat/stream-view.js';

const root = document.getElementById('chat-native');
const composer = document.getElementById('chat-composer');
const textBox = document.getElementById('chat-text');
const sendButton = document.getElementById('chat-send');
const stopButton = document.getElementById('chat-stop');
const statusLine = document.getElementById('chat-status');
const problem = document.getElementById('chat-end');
const errorLine = document.getElementById('chat-error');
const retryForm = document.getElementById('chat-retry');
const view = new StreamView(document.getElementById('chat-live'));

let threadId = root?.dataset.threadId || null;
let lastUserItem = document.getElementById('chat-items')?.dataset.lastUserItem || null;
let running = null; // the AbortController of the answer streaming now

const urlFor = (template, id) => template.replace('THREAD_ID', encodeURIComponent(id));
const threadUrl = (id) => urlFor(root.dataset.threadUrl, id);

function showStatus(text) {
  statusLine.textContent = text;
}

function hideProblem() {
  problem.hidden = true;
  errorLine.hidden = true;
  retryForm.hidden = true;
}

function showProblem(error) {
  errorLine.textContent = error.message;
  errorLine.hidden = false;
  const canRetry = (error.canRetry || error.kind === 'broken') && threadId && lastUserItem;
  if (canRetry) retryForm.elements.item_id.value = lastUserItem;
  retryForm.hidden = !canRetry;
  problem.hidden = false;
  showStatus('');
}

function setRunning(controller) {
  running = controller;
  root.dataset.state = controller ? 'streaming' : 'idle';
  sendButton.disabled = Boolean(controller);
  stopButton.hidden = !controller;
  if (!controller && (document.activeElement === stopButton || document.activeElement === document.body)) {
    textBox.focus();
  }
}

/** A new thread has an address now: the page, its forms and the browser's history follow it. */
function adoptThread(thread) {
  threadId = thread.id;
  root.dataset.threadId = thread.id;
  composer.action = urlFor(root.dataset.messagesUrl, thread.id);
  retryForm.action = urlFor(root.dataset.retryUrl, thread.id);
  history.replaceState(null, '', threadUrl(thread.id));
}

function showTitle(title) {
  if (!title) return;
  document.getElementById('thread-title').textContent = title;
  document.title = `${title} · Chat · Voice console`;
}

/** The admin's message, once the server has it: shown in the thread, and the composer is free for the next. */
function showUserMessage(item, sentText) {
  lastUserItem = item.id;
  const row = document.createElement('li');
  row.className = 'chat-item chat-user';
  row.id = `item-${item.id}`;
  const who = document.createElement('p');
  who.className = 'chat-who';
  who.textContent = 'You';
  const text = document.createElement('p');
  text.className = 'chat-text';
  text.textContent = (item.content || []).map((part) => part.text || '').join('');
  row.append(who, text);
  document.getElementById('chat-items').append(row);
  document.querySelector('.chat-empty')?.remove();
  if (sentText !== undefined && textBox.value === sentText) textBox.value = '';
}

/** Replaces the thread's header, items and the thread list with the server's rendering of the thread. */
async function refreshFromServer() {
  const response = await fetch(threadUrl(threadId), { credentials: 'same-origin' });
  if (!response.ok) throw new ChatError('failed', 'The answer is saved, but the page could not show it: reload.');
  const page = new DOMParser().parseFromString(await response.text(), 'text/html');
  for (const selector of ['.thread-header', '#chat-history', '#thread-rows']) {
    const fresh = page.querySelector(selector);
    if (fresh) document.querySelector(selector)?.replaceWith(document.adoptNode(fresh));
  }
  lastUserItem = document.getElementById('chat-items')?.dataset.lastUserItem || lastUserItem;
  view.clear();
}

/** Sends one ChatKit request and shows its answer as it streams; `sentText` is the composer's text, if any. */
async function run(body, sentText) {
  if (running) {
    showStatus('Wait for the answer to finish, or stop it first.');
    return;
  }
  const controller = new AbortController();
  setRunning(controller);
  hideProblem();
  view.clear();
  showStatus('Sending…');
  performance.mark('chat:send');
  let failure = null;
  let firstText = true;
  try {
    const response = await sendChatKit(root.dataset.chatkitUrl, body, { signal: controller.signal });
    showStatus('The agent is answering…');
    for await (const event of chatKitEvents(response)) {
      if (event.type === 'thread.created') adoptThread(event.thread);
      else if (event.type === 'thread.updated') showTitle(event.thread.title);
      else if (event.type === 'error') failure = streamError(event);
      else if (event.type === 'thread.item.done' && event.item.type === 'user_message') {
        showUserMessage(event.item, sentText);
      } else view.apply(event);
      if (firstText && event.update?.type === 'assistant_message.content_part.text_delta') {
        firstText = false;
        performance.mark('chat:first-text');
      }
    }
    if (failure) throw failure;
    if (view.unfinished) {
      throw new ChatError('broken', 'The answer stopped arriving before it was complete (the connection broke).');
    }
    showStatus('');
    await refreshFromServer();
  } catch (error) {
    if (error.name === 'AbortError') {
      view.region.append(Object.assign(document.createElement('p'), { className: 'hint', textContent: 'Stopped.' }));
      showStatus('Stopped: what had arrived is kept in the thread.');
    } else {
      showProblem(error instanceof ChatError ? error : new ChatError('failed', `The chat failed: ${error.message}`));
    }
  } finally {
    setRunning(null);
  }
}

function onComposerSubmit(event) {
  event.preventDefault();
  const text = textBox.value.trim();
  if (!text) {
    showStatus('Write a message first.');
    return;
  }
  run(sendMessage(threadId, text), textBox.value);
}

function onComposerKey(event) {
  if (event.key === 'Enter' && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.isComposing) {
    event.preventDefault();
    composer.requestSubmit();
  } else if (event.key === 'Escape' && running) {
    running.abort();
  }
}

/** Approve / Deny (each a form with the card's action) and Retry go through /chatkit too. */
function onPageSubmit(event) {
  const form = event.target;
  if (form.classList.contains('card-action')) {
    event.preventDefault();
    const field = (name) => form.elements[name].value;
    const buttons = [...(form.closest('.approval-card')?.querySelectorAll('button') || [])];
    buttons.forEach((button) => { button.disabled = true; });
    // A card the server replaced is gone by now; one whose action failed can be clicked again.
    run(cardAction(threadId, field('item_id'), field('action'), field('call_id')))
      .finally(() => buttons.forEach((button) => { button.disabled = false; }));
  } else if (form === retryForm) {
    event.preventDefault();
    run(retryAfter(threadId, form.elements.item_id.value));
  }
}

/** Voice transcripts written into this thread (chat-transcript.js, from any tab) show without a reload. */
function listenForVoiceTranscripts() {
  const refresh = (forThread) => {
    if (threadId && (!forThread || forThread === threadId) && !running) {
      refreshFromServer().catch((error) => showProblem(error));
    }
  };
  document.addEventListener('voice:ended', () => refresh(null));
  if (!('BroadcastChannel' in window)) return;
  const channel = new BroadcastChannel(CHANNEL_NAME);
  channel.addEventListener('message', (event) => {
    if (event.data?.type === 'chat:transcripts-added' && event.data.threadId) refresh(event.data.threadId);
  });
}

/** After "More threads" (htmx), focus goes to the first thread that arrived rather than to the top of the page. */
function focusLoadedThreads() {
  document.querySelector('#thread-rows li.thread-row:not([data-seen]) a')?.focus();
  markThreadsSeen();
}

function markThreadsSeen() {
  document.querySelectorAll('#thread-rows li.thread-row').forEach((row) => { row.dataset.seen = ''; });
}

function start() {
  if (!root) return;
  root.dataset.state = 'idle';
  markThreadsSeen();
  composer.addEventListener('submit', onComposerSubmit);
  textBox.addEventListener('keydown', onComposerKey);
  stopButton.addEventListener('click', () => running?.abort());
  document.addEventListener('submit', onPageSubmit);
  document.body.addEventListener('htmx:afterSwap', focusLoadedThreads);
  listenForVoiceTranscripts();
}

start();
