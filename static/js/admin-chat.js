/**
 * The chat page: loads OpenAI's ChatKit web component and points it at a hosted workflow session
 * (getClientSecret) or at this server's own /chatkit endpoint (self-hosted), and says in words what went wrong.
 * With CHAT_UI=auto, a widget that cannot load gives way to the native view (chat-native.js) on the same thread.
 */

import { CHANNEL_NAME } from './chat-transcript.js';

const root = document.getElementById('chat');
const statusLine = document.getElementById('chat-status');
const errorBox = document.getElementById('chat-error');
const widgetBox = document.getElementById('chat-widget');
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? '';

let chatkit = null;
let currentThread = root?.dataset.currentThread || null;

function showStatus(text) {
  statusLine.textContent = text;
}

function showError(text) {
  errorBox.textContent = text;
  errorBox.hidden = false;
  showStatus('');
}

function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = '';
}

/** Resolves once <openai-chatkit> is defined; rejects when the script fails to load or takes too long. */
function loadChatKitScript(url, timeoutMs) {
  if (customElements.get('openai-chatkit')) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`it did not load within ${Math.round(timeoutMs / 1000)} s`)),
      timeoutMs,
    );
    const script = document.createElement('script');
    script.src = url;
    script.async = true;
    script.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new Error('the browser could not fetch it (offline, blocked by a proxy or an extension)'));
    });
    document.head.append(script);
    customElements.whenDefined('openai-chatkit').then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** The same-origin fetch the widget uses in self-hosted mode: session cookie plus the CSRF header. */
function fetchWithCsrf(input, init = {}) {
  const headers = new Headers(init.headers || {});
  headers.set('X-CSRFToken', csrfToken);
  return fetch(input, { ...init, headers, credentials: 'same-origin' });
}

/** Explains a failed session request in the admin's words; the server's message already names the setting. */
function explainSessionError(status, body) {
  const message = body?.message || `the server answered HTTP ${status}`;
  if (body?.code === 'not_configured') return `Chat is not configured: ${message}`;
  if (/not found/i.test(message) && /workflow/i.test(message)) {
    return (
      `${message} The API key must belong to the same OpenAI project as the workflow. ` +
      `Note that Agent Builder workflows are retired on ${root.dataset.agentBuilderShutdown}: ` +
      'switch to CHATKIT_MODE=self-hosted.'
    );
  }
  if (status === 401) return 'Your sign-in has ended. Reload the page and sign in again.';
  if (body?.code === 'csrf_failed') return message;
  return `Could not start a chat session: ${message}`;
}

async function getClientSecret(current) {
  // A non-null `current` means the secret is expiring: ChatKit has no refresh, so this mints a new session.
  const response = await fetchWithCsrf(root.dataset.sessionUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(current ? { current } : {}),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok || !body?.data?.client_secret) {
    const text = explainSessionError(response.status, body);
    showError(text);
    throw new Error(text);
  }
  clearError();
  return body.data.client_secret;
}

function hostedOptions() {
  return { api: { getClientSecret } };
}

function selfHostedOptions() {
  return {
    api: { url: root.dataset.chatkitUrl, domainKey: root.dataset.domainKey, fetch: fetchWithCsrf },
    initialThread: currentThread,
    history: { enabled: true },
    composer: { attachments: { enabled: false }, placeholder: 'Ask the chat agent…' },
  };
}

function explainWidgetError(error) {
  const message = error?.message || String(error || 'unknown error');
  if (/domain/i.test(message)) {
    return (
      `The chat widget refused this site: ${message}. Add this domain to your OpenAI organisation's domain ` +
      'allow-list (and, in self-hosted mode, set CHATKIT_DOMAIN_KEY to the key it shows).'
    );
  }
  return `The chat widget reported an error: ${message}`;
}

/** Voice transcripts were written on the server: show them without reloading the page. */
async function refreshThread(threadId) {
  if (!chatkit) return;
  try {
    if (threadId && threadId !== currentThread) {
      await chatkit.setThreadId(threadId);
    } else if (currentThread) {
      await chatkit.fetchUpdates();
    }
  } catch (error) {
    showError(explainWidgetError(error));
  }
}

function listenForVoiceTranscripts() {
  document.addEventListener('voice:ended', () => refreshThread(null));
  if ('BroadcastChannel' in window) {
    // The voice page announces transcripts it added (chat-transcript.js).
    const channel = new BroadcastChannel(CHANNEL_NAME);
    channel.addEventListener('message', (event) => {
      if (event.data?.type === 'chat:transcripts-added') refreshThread(event.data.threadId || null);
    });
  }
}

/** CHAT_UI=auto: the widget could not load, so this server's own view opens the same thread instead. */
function switchToNativeView(error) {
  showStatus(`The ChatKit widget did not load (${error.message}): opening this server's chat view…`);
  const target = currentThread
    ? root.dataset.nativeUrl.replace('THREAD_ID', encodeURIComponent(currentThread))
    : root.dataset.nativeNewUrl;
  window.location.replace(target);
}

async function start() {
  if (!root) return;
  if (root.dataset.ready !== 'true') {
    showStatus('');
    return;
  }
  const timeoutMs = Number(root.dataset.scriptTimeoutMs) || 15000;
  try {
    await loadChatKitScript(root.dataset.scriptUrl, timeoutMs);
  } catch (error) {
    if (root.dataset.nativeUrl) {
      switchToNativeView(error);
      return;
    }
    showError(
      `The chat widget could not be loaded from ${root.dataset.scriptUrl}: ${error.message}. ` +
        "Check this machine's network, or set CHATKIT_SCRIPT_URL.",
    );
    return;
  }
  chatkit = document.createElement('openai-chatkit');
  chatkit.addEventListener('chatkit.error', (event) => showError(explainWidgetError(event.detail?.error)));
  chatkit.addEventListener('chatkit.thread.change', (event) => {
    currentThread = event.detail?.threadId || null;
  });
  widgetBox.append(chatkit);
  const selfHosted = root.dataset.mode === 'self-hosted';
  // setOptions replaces every option at once, so each mode builds its whole set.
  chatkit.setOptions(selfHosted ? selfHostedOptions() : hostedOptions());
  if (selfHosted) listenForVoiceTranscripts();
  showStatus('');
}

start();
