/**
 * The voice page: starts and ends Realtime calls, shows their state, conversation, usage and events.
 *
 * The call (voice/call.js) announces what happens as DOM events on #voice-console (listed in voice/events.js);
 * each part below subscribes itself to the events it shows or acts on, and the parts that act on the call (send
 * an event, end it) are given the call. No part knows another.
 */

import { AgentErrors } from './voice/agent-errors.js';
import { AgentAudioWatch } from './voice/audio-watch.js';
import { AutoplayButton } from './voice/autoplay-button.js';
import { VoiceCall } from './voice/call.js';
import { SessionClock } from './voice/clock.js';
import { ChatCopy } from './voice/copy-to-chat.js';
import { EventLog } from './voice/event-log.js';
import { announce, notice } from './voice/events.js';
import { MicrophoneSwitch } from './voice/microphone-switch.js';
import { CallPreparer } from './voice/prepare.js';
import { Responses } from './voice/responses.js';
import { SettingsForm } from './voice/settings-form.js';
import { SilenceWatch } from './voice/silence-watch.js';
import { StatusView } from './voice/status-view.js';
import { CallTelemetry } from './voice/telemetry.js';
import { ToolCalls } from './voice/tool-calls.js';
import { Transcript } from './voice/transcript.js';
import { UsagePanel } from './voice/usage-panel.js';

const root = document.getElementById('voice-console');
const $ = (id) => document.getElementById(id);
const options = {
  mode: root.dataset.mode,
  secretUrl: root.dataset.secretUrl,
  callsUrl: root.dataset.callsUrl,
  telemetryUrl: root.dataset.telemetryUrl,
  iceServers: JSON.parse(root.dataset.iceServers || '[]'),
  connectTimeoutMs: Number(root.dataset.connectTimeoutSeconds || 15) * 1000,
  maxSessionMs: Number(root.dataset.maxSessionMinutes || 30) * 60_000,
  openaiSessionMinutes: Number(root.dataset.openaiSessionMinutes),
  prices: JSON.parse(root.dataset.prices || '{}'),
  csrfToken: document.querySelector('meta[name="csrf-token"]')?.content ?? '',
};
const textForm = $('voice-text-form');
const text = $('voice-text');

// "Instant start": the peer connection, its offer and (ephemeral mode) a secret are made before the click.
// ?prepare=off on the page's URL, or data-prepare="off", leaves that to the click (bench/bench_connect.py compares).
const preparer = new CallPreparer({
  mode: options.mode,
  secretUrl: options.secretUrl,
  csrfToken: options.csrfToken,
  iceServers: options.iceServers,
  enabled: root.dataset.prepare !== 'off' && new URLSearchParams(location.search).get('prepare') !== 'off',
  root,
});
const call = new VoiceCall({
  root,
  sessionOptions: { ...options, remoteAudio: $('voice-remote-audio') },
  preparer,
});

// First, so that each event is logged before whatever it causes.
new EventLog({ root, list: $('voice-log'), filterInput: $('voice-log-filter'), countOutput: $('voice-log-count') });
new StatusView({
  root,
  state: $('voice-state'),
  start: $('voice-start'),
  hangup: $('voice-hangup'),
  connectTime: $('voice-connect-time'),
  message: $('voice-message'),
  messageText: $('voice-message-text'),
  reconnect: $('voice-reconnect'),
  connectedOnly: '#voice-mute, #voice-interrupt, #voice-text-form button, #voice-settings-form button',
});
new Transcript({ root, list: $('voice-transcript') });
new ChatCopy({ root });
new CallTelemetry({
  root,
  url: options.telemetryUrl,
  mode: options.mode,
  csrfToken: options.csrfToken,
  prices: options.prices,
});
new UsagePanel({
  root,
  outputs: {
    inputTextTokens: $('usage-input-text'),
    inputAudioTokens: $('usage-input-audio'),
    cachedTokens: $('usage-cached'),
    outputTextTokens: $('usage-output-text'),
    outputAudioTokens: $('usage-output-audio'),
    responses: $('usage-responses'),
    cost: $('usage-cost'),
  },
  prices: options.prices,
});
new Responses({ root, call, interruptButton: $('voice-interrupt') });
new ToolCalls({
  root,
  call,
  url: root.dataset.toolCallsUrl,
  csrfToken: options.csrfToken,
  list: $('voice-transcript'),
});
new SettingsForm({ root, call, form: $('voice-settings-form'), result: $('voice-settings-result') });
new MicrophoneSwitch({ root, call, muteButton: $('voice-mute'), talkButton: $('voice-ptt') });
new SilenceWatch({ root, level: $('voice-level'), warning: $('voice-silence') });
new AgentAudioWatch({ root, call, warning: $('voice-no-audio') });
new AutoplayButton({
  root,
  audio: $('voice-remote-audio'),
  notice: $('voice-autoplay'),
  button: $('voice-play-audio'),
});
new SessionClock({
  root,
  call,
  remaining: $('voice-remaining'),
  audioBytes: $('voice-audio-bytes'),
  maxSessionMs: options.maxSessionMs,
});
new AgentErrors({ root, call, openaiSessionMinutes: options.openaiSessionMinutes });

/** A typed message: the agent hears it as a user message, then answers it (responses.js sends the create). */
function sendText(event) {
  event.preventDefault();
  const words = text.value.trim();
  if (!words || !call.session) return;
  const sent = call.session.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: words }] },
  });
  if (!sent) return;
  announce(root, 'voice:response-wanted');
  text.value = '';
}

$('voice-start').addEventListener('click', () => call.start());
$('voice-reconnect').addEventListener('click', () => call.start());
$('voice-hangup').addEventListener('click', () => call.hangUp());
textForm.addEventListener('submit', sendText);
preparer.listen($('voice-start'));
window.addEventListener('pagehide', () => {
  preparer.release(); // first, so the hang-up's end of session does not prepare another call
  call.hangUp('page closed');
});

call.setState('idle');
if (!options.csrfToken) notice(root, 'This page has no CSRF token; reload it.', 'error');
else preparer.prepare();
