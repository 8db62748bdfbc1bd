/** The voice page: starts and ends Realtime calls, shows their state, conversation, usage and events. */

import { sendVoiceTranscript } from './chat-transcript.js';
import { EventLog } from './voice/event-log.js';
import { asVoiceError } from './voice/errors.js';
import { startLevelMeter } from './voice/meter.js';
import { VoiceSession } from './voice/session.js';
import { Transcript } from './voice/transcript.js';
import { addUsage, emptyUsage, estimateCost, telemetryUsage } from './voice/usage.js';

const RECONNECT_DELAYS_MS = [1000, 2000, 4000]; // a lost call is retried this many times, with these waits
const SILENCE_RMS = 0.002; // about -54 dBFS: below what even a quiet room gives a live microphone
const SILENCE_WARNING_MS = 6000;
const STATE_WORDS = {
  idle: 'Idle',
  'waiting-for-microphone': 'Waiting for the microphone…',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  ended: 'Ended',
  error: 'Error',
};
const ACTIVE_STATES = ['waiting-for-microphone', 'connecting', 'connected', 'reconnecting'];

const root = document.getElementById('voice-console');
const $ = (id) => document.getElementById(id);
const ui = {
  state: $('voice-state'),
  connectTime: $('voice-connect-time'),
  remaining: $('voice-remaining'),
  audioBytes: $('voice-audio-bytes'),
  start: $('voice-start'),
  mute: $('voice-mute'),
  ptt: $('voice-ptt'),
  interrupt: $('voice-interrupt'),
  hangup: $('voice-hangup'),
  message: $('voice-message'),
  messageText: $('voice-message-text'),
  reconnect: $('voice-reconnect'),
  level: $('voice-level'),
  silence: $('voice-silence'),
  remoteAudio: $('voice-remote-audio'),
  textForm: $('voice-text-form'),
  text: $('voice-text'),
  settingsForm: $('voice-settings-form'),
  settingsResult: $('voice-settings-result'),
  usage: {
    inputTextTokens: $('usage-input-text'),
    inputAudioTokens: $('usage-input-audio'),
    cachedTokens: $('usage-cached'),
    outputTextTokens: $('usage-output-text'),
    outputAudioTokens: $('usage-output-audio'),
    responses: $('usage-responses'),
    cost: $('usage-cost'),
  },
};

const options = {
  mode: root.dataset.mode,
  secretUrl: root.dataset.secretUrl,
  callsUrl: root.dataset.callsUrl,
  telemetryUrl: root.dataset.telemetryUrl,
  iceServers: JSON.parse(root.dataset.iceServers || '[]'),
  connectTimeoutMs: Number(root.dataset.connectTimeoutSeconds || 15) * 1000,
  maxSessionMs: Number(root.dataset.maxSessionMinutes || 30) * 60_000,
  prices: JSON.parse(root.dataset.prices || '{}'),
  csrfToken: document.querySelector('meta[name="csrf-token"]')?.content ?? '',
};

const transcript = new Transcript($('voice-transcript'));
// Completed lines are copied into the admin's chat thread (self-hosted chat), so voice and text are one
// conversation; hosted chat answers null (its threads live at OpenAI), and copying then stops.
const chatCopy = { enabled: true, threadId: null };
const eventLog = new EventLog($('voice-log'), $('voice-log-filter'), $('voice-log-count'));

// What the page knows about the call; one admin "session" (Start to hang-up) may span several attempts.
let state = 'idle';
let session = null; // the current VoiceSession
let attempt = null; // {id, startedAt, connectedAt, usage} of the current attempt, for telemetry
let sessionUsage = emptyUsage();
let responsesDone = 0;
let deadline = null; // Date.now() at which the session cap ends the call
let reconnectsDone = 0;
let sessionsStarted = 0;
let reconnectTimer = null;
let tickTimer = null;
let meter = null;
let silentSince = null;
let muted = false;
let pushToTalk = false; // turn detection off: the mic is live only while the talk button or space is held
let talking = false;
let responseActive = false;
let responseWanted = false; // asked for while another response was running: sent when that one is done
let pendingUpdate = null; // {eventId, summary} of the session.update awaiting session.updated
let lastApplied = null; // the last session.update the agent accepted, re-sent after a reconnect

function setState(next) {
  state = next;
  ui.state.textContent = STATE_WORDS[next];
  ui.state.className = `voice-state state-${next}`;
  const active = ACTIVE_STATES.includes(next);
  const connected = next === 'connected';
  ui.start.disabled = active;
  ui.hangup.disabled = !active;
  for (const control of [ui.mute, ui.interrupt, ...formButtons()]) control.disabled = !connected;
  ui.ptt.hidden = !pushToTalk;
  ui.ptt.disabled = !connected;
  document.dispatchEvent(new CustomEvent('voice:state', { detail: { state: next } }));
}

function formButtons() {
  return [...ui.textForm.querySelectorAll('button'), ...ui.settingsForm.querySelectorAll('button')];
}

/** kind: "error" (with the Reconnect button), "warn" or "info"; null hides the message. */
function showMessage(text, kind = 'error', { reconnect = false } = {}) {
  ui.message.hidden = !text;
  ui.message.className = `notice notice-${kind}`;
  ui.messageText.textContent = text ?? '';
  ui.reconnect.hidden = !reconnect;
}

// ---- starting, reconnecting and ending -------------------------------------------------------------

async function startFromClick() {
  clearTimeout(reconnectTimer);
  showMessage(null);
  reconnectsDone = 0;
  deadline = null;
  lastApplied = null; // a new session starts from the server's configuration
  sessionUsage = emptyUsage();
  responsesDone = 0;
  renderUsage();
  if (sessionsStarted > 0) transcript.note('New session: the agent does not remember the earlier conversation.');
  sessionsStarted += 1;
  ui.connectTime.textContent = '…';
  await connect({ reconnecting: false });
}

async function connect({ reconnecting }) {
  const current = new VoiceSession({ ...options, remoteAudio: ui.remoteAudio });
  session = current;
  attempt = { id: randomId(), startedAt: performance.now(), connectedAt: null, usage: emptyUsage() };
  current.addEventListener('state', (event) => {
    if (!reconnecting) setState(event.detail.state);
  });
  current.addEventListener('minted', (event) => {
    document.dispatchEvent(new CustomEvent('voice:minted', { detail: { expiresAt: event.detail.expiresAt } }));
  });
  current.addEventListener('server-event', (event) => onServerEvent(event.detail));
  current.addEventListener('client-event', (event) => eventLog.add('out', event.detail));
  current.addEventListener('lost', (event) => onLost(current, event.detail.reason));
  if (reconnecting) setState('reconnecting');
  try {
    await current.start();
  } catch (thrown) {
    if (session !== current) return; // hung up meanwhile: hangUp() has reported the attempt
    const error = asVoiceError(thrown);
    postTelemetry({ event: 'failed', reason: `${error.kind}: ${error.message}` });
    attempt = null; // reported
    const local = error.kind.startsWith('microphone') || error.kind === 'no-microphone' || error.kind === 'insecure-context';
    if (reconnecting && !local && reconnectsDone < RECONNECT_DELAYS_MS.length) {
      scheduleReconnect(error.message);
      return;
    }
    const text = reconnecting
      ? `The connection was lost and ${reconnectsDone} reconnect ${reconnectsDone === 1 ? 'attempt' : 'attempts'} failed. Last error: ${error.message}`
      : error.message;
    finish('error', text, { message: text, kind: 'error', reconnect: !local });
    return;
  }
  onConnected(current, reconnecting);
}

function onConnected(current, reconnected) {
  attempt.connectedAt = performance.now();
  const connectMs = Math.round(attempt.connectedAt - attempt.startedAt);
  ui.connectTime.textContent = `${connectMs} ms${reconnected ? ' (reconnect)' : ''}`;
  ui.connectTime.dataset.ms = String(connectMs);
  postTelemetry({ event: 'connected', connectMs });
  deadline ??= Date.now() + options.maxSessionMs;
  if (reconnected) {
    reconnectsDone = 0;
    showMessage('Reconnected. This is a new Realtime session: the agent does not remember the earlier conversation.', 'info');
    transcript.note('Reconnected (new session).');
    if (lastApplied) sendSessionUpdate(lastApplied.session, lastApplied.summary);
  }
  applyMicrophoneState();
  meter?.stop();
  silentSince = null;
  try {
    meter = startLevelMeter(current.stream, onLevel);
  } catch (error) {
    console.warn('no microphone level meter (Web Audio unavailable)', error); // the call itself works without it
  }
  clearInterval(tickTimer);
  tick();
  tickTimer = setInterval(tick, 1000);
  setState('connected');
}

function onLost(lostSession, reason) {
  if (lostSession !== session) return;
  reportEnded(`connection lost: ${reason}`);
  releaseCall();
  scheduleReconnect(`The connection was lost (${reason}).`);
}

function scheduleReconnect(why) {
  const delay = RECONNECT_DELAYS_MS[reconnectsDone];
  reconnectsDone += 1;
  session = null;
  setState('reconnecting');
  showMessage(
    `${why} Reconnecting in ${delay / 1000} s (attempt ${reconnectsDone} of ${RECONNECT_DELAYS_MS.length})…`,
    'warn',
  );
  reconnectTimer = setTimeout(() => connect({ reconnecting: true }), delay);
}

/** Ends the admin's session: "ended" after a hang-up or the cap, "error" when something failed. */
function finish(finalState, reason, { message = null, kind = 'info', reconnect = false } = {}) {
  clearTimeout(reconnectTimer);
  if (attempt?.connectedAt) reportEnded(reason);
  else if (session) postTelemetry({ event: 'failed', reason: `cancelled: ${reason}` });
  releaseCall();
  attempt = null;
  deadline = null;
  setState(finalState);
  showMessage(message, kind, { reconnect });
  document.dispatchEvent(new CustomEvent('voice:ended', { detail: { reason } }));
}

function hangUp(reason = 'hung up by the admin') {
  if (!ACTIVE_STATES.includes(state)) return;
  finish('ended', reason);
}

/** Stops the call's media, channel, peer, meter and timers; safe to call twice. */
function releaseCall() {
  const ending = session;
  session = null;
  ending?.stop();
  meter?.stop();
  meter = null;
  clearInterval(tickTimer);
  tickTimer = null;
  talking = false;
  responseActive = false;
  responseWanted = false;
  pendingUpdate = null;
  ui.ptt.classList.remove('talking');
  ui.level.value = 0;
  ui.silence.hidden = true;
}

// ---- telemetry -------------------------------------------------------------------------------------

function reportEnded(reason) {
  if (!attempt?.connectedAt) return;
  postTelemetry({
    event: 'ended',
    reason,
    connectMs: Math.round(attempt.connectedAt - attempt.startedAt),
    durationMs: Math.round(performance.now() - attempt.connectedAt),
    usage: telemetryUsage(attempt.usage),
    estimatedCostUsd: roundCost(estimateCost(attempt.usage, options.prices)),
  });
  attempt.connectedAt = null; // reported once
}

function postTelemetry(fields) {
  if (!attempt) return;
  const body = {
    attemptId: attempt.id,
    mode: options.mode,
    reason: null,
    connectMs: null,
    durationMs: null,
    usage: null,
    estimatedCostUsd: null,
    ...fields,
  };
  // keepalive lets the "ended" report of a closing tab still reach the server.
  fetch(options.telemetryUrl, {
    method: 'POST',
    keepalive: true,
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': options.csrfToken },
    body: JSON.stringify(body),
  })
    .then((response) => {
      // 404: a server without the activity record; telemetry is best effort and never bothers the admin.
      if (!response.ok && response.status !== 404) console.warn('voice telemetry refused', response.status);
    })
    .catch((error) => console.warn('voice telemetry not sent', error));
}

// ---- what the agent says ---------------------------------------------------------------------------

function onServerEvent(event) {
  eventLog.add('in', event);
  switch (event.type) {
    case 'session.created':
      followTurnDetection(event.session);
      break;
    case 'session.updated':
      followTurnDetection(event.session);
      if (pendingUpdate) {
        ui.settingsResult.textContent = `Applied (session.updated): ${pendingUpdate.summary}.`;
        ui.settingsResult.className = 'voice-settings-result ok';
        lastApplied = pendingUpdate;
        pendingUpdate = null;
      }
      break;
    case 'input_audio_buffer.speech_started':
      transcript.userSpeaking(event.item_id);
      break;
    case 'conversation.item.input_audio_transcription.delta':
      transcript.userDelta(event.item_id, event.delta);
      break;
    case 'conversation.item.input_audio_transcription.completed':
      transcript.userDone(event.item_id, event.transcript);
      copyToChat('user', event.transcript, event.item_id);
      break;
    case 'conversation.item.input_audio_transcription.failed':
      transcript.userNotTranscribed(event.item_id, event.error?.message ?? 'transcription failed');
      break;
    case 'response.created':
      responseActive = true;
      break;
    case 'response.output_audio_transcript.delta':
    case 'response.output_text.delta':
      transcript.agentDelta(event.item_id, event.delta);
      break;
    case 'response.output_audio_transcript.done':
      transcript.agentDone(event.item_id, event.transcript);
      copyToChat('assistant', event.transcript, event.item_id);
      break;
    case 'response.output_text.done':
      transcript.agentDone(event.item_id, event.text);
      copyToChat('assistant', event.text, event.item_id);
      break;
    case 'response.done':
      responseActive = false;
      if (responseWanted) requestResponse();
      responsesDone += 1;
      addUsage(sessionUsage, event.response?.usage);
      if (attempt) addUsage(attempt.usage, event.response?.usage);
      renderUsage();
      break;
    case 'error':
      onAgentError(event.error ?? {});
      break;
    default:
      break;
  }
}

function onAgentError(error) {
  const words = `${error.message || 'no message'}${error.code ? ` (${error.code})` : ''}`;
  if (error.code === 'session_expired') {
    const text =
      'The session reached OpenAI’s 60-minute limit and was closed by OpenAI. Press Start Voice Session for a new one.';
    finish('ended', 'session_expired', { message: text, kind: 'warn' });
    return;
  }
  // OpenAI echoes the event_id of the client event it refuses; a refused session.update belongs to the form.
  const aboutUpdate = pendingUpdate && (error.event_id === pendingUpdate.eventId || (!error.event_id && error.param?.startsWith('session')));
  if (aboutUpdate) {
    ui.settingsResult.textContent = `Refused: ${words}`;
    ui.settingsResult.className = 'voice-settings-result bad';
    pendingUpdate = null;
    return;
  }
  showMessage(`The agent reported an error: ${words}`, 'warn');
}

function followTurnDetection(effective) {
  const detection = effective?.audio?.input?.turn_detection;
  if (detection === undefined) return; // not part of this event
  pushToTalk = detection === null;
  const select = ui.settingsForm.elements.turn_detection;
  select.value = detection === null ? 'off' : detection.type;
  ui.ptt.hidden = !pushToTalk;
  ui.ptt.disabled = state !== 'connected';
  applyMicrophoneState();
}

function renderUsage() {
  for (const [key, output] of Object.entries(ui.usage)) {
    if (key in sessionUsage) output.textContent = sessionUsage[key].toLocaleString();
  }
  ui.usage.responses.textContent = String(responsesDone);
  ui.usage.cost.textContent = `$${roundCost(estimateCost(sessionUsage, options.prices)).toFixed(4)}`;
}

function roundCost(usd) {
  return Math.round(usd * 1e6) / 1e6;
}

// ---- controls --------------------------------------------------------------------------------------

function applyMicrophoneState() {
  session?.setMicrophoneEnabled(!muted && (!pushToTalk || talking));
}

function toggleMute() {
  muted = !muted;
  ui.mute.setAttribute('aria-pressed', String(muted));
  ui.mute.textContent = muted ? 'Unmute' : 'Mute';
  applyMicrophoneState();
}

function startTalking() {
  if (!pushToTalk || talking || state !== 'connected') return;
  talking = true;
  ui.ptt.classList.add('talking');
  session.send({ type: 'input_audio_buffer.clear' }); // drop anything heard before the press
  applyMicrophoneState();
}

function stopTalking() {
  if (!talking) return;
  talking = false;
  ui.ptt.classList.remove('talking');
  applyMicrophoneState();
  // With turn detection off the agent only answers when told the turn is over.
  session?.send({ type: 'input_audio_buffer.commit' });
  requestResponse();
}

/** Asks for a response now, or once the running one is done (OpenAI refuses a second one meanwhile). */
function requestResponse() {
  responseWanted = responseActive;
  if (!responseActive) session?.send({ type: 'response.create' });
}

function interrupt() {
  if (responseActive) session?.send({ type: 'response.cancel' }); // cancelling with none active is an error event
  session?.send({ type: 'output_audio_buffer.clear' }); // WebRTC only: stops audio already on its way
}

async function copyToChat(role, text, id) {
  if (!chatCopy.enabled || !text?.trim()) return;
  try {
    const saved = await sendVoiceTranscript([{ role, text, id }], { threadId: chatCopy.threadId });
    if (saved === null) chatCopy.enabled = false;
    else chatCopy.threadId = saved.threadId;
  } catch (error) {
    chatCopy.enabled = false;
    transcript.note(`The conversation is not being copied to Chat: ${error.message}`);
  }
}

function sendText(event) {
  event.preventDefault();
  const text = ui.text.value.trim();
  if (!text || !session) return;
  const sent = session.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
  });
  if (!sent) return;
  requestResponse();
  transcript.typed(text);
  ui.text.value = '';
}

function applySettings(event) {
  event.preventDefault();
  const form = ui.settingsForm.elements;
  const maxTokens = form.max_output_tokens.value.trim();
  const detection = form.turn_detection.value;
  const update = {
    type: 'realtime', // GA refuses a session.update without it
    instructions: form.instructions.value,
    max_output_tokens: maxTokens ? Number(maxTokens) : 'inf',
    audio: { input: { turn_detection: detection === 'off' ? null : { type: detection } } },
  };
  const summary = `turn detection ${detection === 'off' ? 'off (push-to-talk)' : detection}, max output tokens ${maxTokens || 'inf'}`;
  sendSessionUpdate(update, summary);
}

function sendSessionUpdate(update, summary) {
  const eventId = `evt_console_${randomId().slice(0, 20)}`;
  if (!session?.send({ type: 'session.update', event_id: eventId, session: update })) return;
  pendingUpdate = { eventId, summary, session: update };
  ui.settingsResult.textContent = 'Sent; waiting for session.updated…';
  ui.settingsResult.className = 'voice-settings-result';
}

// ---- once a second and ten times a second while connected ------------------------------------------

async function tick() {
  if (state !== 'connected' || !session) return;
  const left = Math.max(0, deadline - Date.now());
  ui.remaining.textContent = formatClock(left);
  if (left === 0) {
    const minutes = options.maxSessionMs / 60_000;
    finish('ended', 'session cap reached', {
      message: `The session reached its ${minutes}-minute limit (VOICE_MAX_SESSION_MINUTES) and was ended. Press Start Voice Session to continue.`,
      kind: 'info',
    });
    return;
  }
  const bytes = await session.audioBytes().catch(() => null);
  if (bytes) ui.audioBytes.textContent = `${kilobytes(bytes.sent)} sent · ${kilobytes(bytes.received)} received`;
}

function onLevel(level, rms) {
  ui.level.value = level;
  ui.level.textContent = `${Math.round(level * 100)} %`;
  const listening = state === 'connected' && !muted && (!pushToTalk || talking);
  if (!listening || rms > SILENCE_RMS) {
    silentSince = null;
    ui.silence.hidden = true;
    return;
  }
  silentSince ??= performance.now();
  if (performance.now() - silentSince > SILENCE_WARNING_MS) ui.silence.hidden = false;
}

/** 32 hex digits; crypto.randomUUID exists only in secure contexts, and this page must explain an insecure one. */
function randomId() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function formatClock(ms) {
  const seconds = Math.ceil(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function kilobytes(bytes) {
  return `${(bytes / 1024).toFixed(1)} kB`;
}

// ---- wiring ----------------------------------------------------------------------------------------

ui.start.addEventListener('click', startFromClick);
ui.reconnect.addEventListener('click', startFromClick);
ui.hangup.addEventListener('click', () => hangUp());
ui.mute.addEventListener('click', toggleMute);
ui.interrupt.addEventListener('click', interrupt);
ui.textForm.addEventListener('submit', sendText);
ui.settingsForm.addEventListener('submit', applySettings);
ui.ptt.addEventListener('pointerdown', startTalking);
for (const type of ['pointerup', 'pointerleave', 'pointercancel']) ui.ptt.addEventListener(type, stopTalking);
document.addEventListener('keydown', (event) => {
  if (event.code !== 'Space' || event.repeat || !pushToTalk || isTyping(event.target)) return;
  event.preventDefault();
  startTalking();
});
document.addEventListener('keyup', (event) => {
  if (event.code !== 'Space' || !talking) return;
  event.preventDefault();
  stopTalking();
});
window.addEventListener('blur', stopTalking); // a key released in another window never sends keyup here
window.addEventListener('pagehide', () => hangUp('page closed'));

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

setState('idle');
if (!options.csrfToken) showMessage('This page has no CSRF token; reload it.', 'error');
