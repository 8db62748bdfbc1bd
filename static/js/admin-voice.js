/** The voice page: starts and ends Realtime calls, shows their state, conversation, usage and events. */

import { AgentEvents } from './voice/agent-events.js';
import { AgentAudioWatch } from './voice/audio-watch.js';
import { AutoplayButton } from './voice/autoplay-button.js';
import { VoiceCall } from './voice/call.js';
import { SessionClock } from './voice/clock.js';
import { ChatCopy } from './voice/copy-to-chat.js';
import { EventLog } from './voice/event-log.js';
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
const ui = {
  start: $('voice-start'),
  reconnect: $('voice-reconnect'),
  hangup: $('voice-hangup'),
  mute: $('voice-mute'),
  interrupt: $('voice-interrupt'),
  textForm: $('voice-text-form'),
  text: $('voice-text'),
};

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

const transcript = new Transcript($('voice-transcript'));
const eventLog = new EventLog($('voice-log'), $('voice-log-filter'), $('voice-log-count'));
const telemetry = new CallTelemetry({
  url: options.telemetryUrl,
  mode: options.mode,
  csrfToken: options.csrfToken,
  prices: options.prices,
});
const usage = new UsagePanel(
  {
    inputTextTokens: $('usage-input-text'),
    inputAudioTokens: $('usage-input-audio'),
    cachedTokens: $('usage-cached'),
    outputTextTokens: $('usage-output-text'),
    outputAudioTokens: $('usage-output-audio'),
    responses: $('usage-responses'),
    cost: $('usage-cost'),
  },
  options.prices,
);
const view = new StatusView({
  state: $('voice-state'),
  start: ui.start,
  hangup: ui.hangup,
  connectTime: $('voice-connect-time'),
  message: $('voice-message'),
  messageText: $('voice-message-text'),
  reconnect: ui.reconnect,
  connectedOnly: () => [ui.mute, ui.interrupt, ...ui.textForm.querySelectorAll('button'), ...settings.buttons],
});

// "Instant start": the peer connection, its offer and (ephemeral mode) a secret are made before the click.
// ?prepare=off on the page's URL, or data-prepare="off", forces today's path (bench/bench_connect.py compares both).
const preparer = new CallPreparer({
  mode: options.mode,
  secretUrl: options.secretUrl,
  csrfToken: options.csrfToken,
  iceServers: options.iceServers,
  enabled: root.dataset.prepare !== 'off' && new URLSearchParams(location.search).get('prepare') !== 'off',
  root,
});

// The call's lifecycle drives the other parts; they read call.session and call.state for the live attempt.
const remoteAudio = $('voice-remote-audio');
const autoplay = new AutoplayButton({ audio: remoteAudio, notice: $('voice-autoplay'), button: $('voice-play-audio') });
const call = new VoiceCall({
  sessionOptions: { ...options, remoteAudio },
  view,
  telemetry,
  transcript,
  preparer,
  on: {
    starting() {
      clock.reset();
      settings.forget();
      usage.reset();
    },
    connected(session, reconnected) {
      if (reconnected) settings.resend();
      microphone.apply();
      silence.start(session.stream);
      clock.start();
    },
    released() {
      silence.stop();
      audioWatch.stop();
      autoplay.hide();
      clock.stop();
      microphone.release();
      responses.reset();
      settings.release();
    },
    stateShown: () => microphone.showTalkButton(),
    serverEvent: (event) => agentEvents.handle(event),
    clientEvent: (event) => eventLog.add('out', event),
    playbackBlocked: (error) => autoplay.blocked(error),
  },
});
const responses = new Responses(call);
const microphone = new MicrophoneSwitch({
  call,
  muteButton: ui.mute,
  talkButton: $('voice-ptt'),
  onTurnEnded: () => responses.request(),
});
const settings = new SettingsForm({ form: $('voice-settings-form'), result: $('voice-settings-result'), call });
const clock = new SessionClock({
  call,
  remaining: $('voice-remaining'),
  audioBytes: $('voice-audio-bytes'),
  maxSessionMs: options.maxSessionMs,
});
const silence = new SilenceWatch({
  level: $('voice-level'),
  warning: $('voice-silence'),
  isListening: () => call.state === 'connected' && microphone.live,
});
const audioWatch = new AgentAudioWatch({ call, warning: $('voice-no-audio') });
const agentEvents = new AgentEvents({
  call,
  view,
  eventLog,
  transcript,
  chatCopy: new ChatCopy(transcript),
  settings,
  microphone,
  responses,
  audioWatch,
  usage,
  telemetry,
  toolCalls: new ToolCalls({
    url: root.dataset.toolCallsUrl,
    approvalTools: JSON.parse(root.dataset.approvalTools || '[]'),
    csrfToken: options.csrfToken,
    call,
    responses,
    list: $('voice-transcript'),
    view,
  }),
  openaiSessionMinutes: options.openaiSessionMinutes,
});

function sendText(event) {
  event.preventDefault();
  const text = ui.text.value.trim();
  if (!text || !call.session) return;
  const sent = call.session.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
  });
  if (!sent) return;
  responses.request();
  transcript.typed(text);
  ui.text.value = '';
}

ui.start.addEventListener('click', () => call.start());
ui.reconnect.addEventListener('click', () => call.start());
ui.hangup.addEventListener('click', () => call.hangUp());
ui.interrupt.addEventListener('click', () => responses.interrupt());
ui.textForm.addEventListener('submit', sendText);
settings.listen();
autoplay.listen();
microphone.listen();
preparer.listen(ui.start);
window.addEventListener('pagehide', () => {
  preparer.release(); // first, so the hang-up's end of session does not prepare another call
  call.hangUp('page closed');
});

call.setState('idle');
if (!options.csrfToken) view.showMessage('This page has no CSRF token; reload it.', 'error');
else preparer.prepare();
