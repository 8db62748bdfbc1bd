/** Hands each event from the agent to the parts of the page that show it or act on it. */

import { answerProblem } from './errors.js';

export class AgentEvents {
  /**
   * parts: call, view, eventLog, transcript, chatCopy, settings, microphone, responses, audioWatch, usage,
   * telemetry and toolCalls;
   * openaiSessionMinutes: how long OpenAI lets a session last (the catalog's figure, from the page).
   */
  constructor(parts) {
    Object.assign(this, parts);
  }

  handle(event) {
    this.eventLog.add('in', event);
    switch (event.type) {
      case 'session.created':
        this.#followTurnDetection(event.session);
        break;
      case 'session.updated':
        this.#followTurnDetection(event.session);
        this.settings.confirm();
        break;
      case 'input_audio_buffer.speech_started':
        this.transcript.userSpeaking(event.item_id);
        break;
      case 'conversation.item.input_audio_transcription.delta':
        this.transcript.userDelta(event.item_id, event.delta);
        break;
      case 'conversation.item.input_audio_transcription.completed':
        this.transcript.userDone(event.item_id, event.transcript);
        this.chatCopy.copy('user', event.transcript, event.item_id);
        break;
      case 'conversation.item.input_audio_transcription.failed':
        this.transcript.userNotTranscribed(event.item_id, event.error?.message ?? 'transcription failed');
        break;
      case 'response.created':
        this.responses.created();
        this.audioWatch.answerStarted(event.response);
        break;
      case 'response.output_audio_transcript.delta':
      case 'response.output_text.delta':
        this.transcript.agentDelta(event.item_id, event.delta);
        break;
      case 'response.output_audio_transcript.done':
        this.transcript.agentDone(event.item_id, event.transcript);
        this.chatCopy.copy('assistant', event.transcript, event.item_id);
        break;
      case 'response.function_call_arguments.done':
        this.toolCalls.requested(event);
        break;
      case 'response.output_text.done':
        this.transcript.agentDone(event.item_id, event.text);
        this.chatCopy.copy('assistant', event.text, event.item_id);
        break;
      case 'response.done': {
        const problem = answerProblem(event.response, { cancelledByAdmin: this.responses.done() });
        if (problem) this.view.showMessage(problem, 'warn');
        this.audioWatch.answerEnded(event.response);
        this.usage.add(event.response?.usage);
        this.telemetry.addUsage(event.response?.usage);
        break;
      }
      case 'error':
        this.#error(event.error ?? {});
        break;
      default:
        break;
    }
  }

  #error(error) {
    const words = `${error.message || 'no message'}${error.code ? ` (${error.code})` : ''}`;
    if (error.code === 'session_expired') {
      const text =
        `The session reached OpenAI’s ${this.openaiSessionMinutes}-minute limit and was closed by OpenAI. ` +
        'Press Start Voice Session for a new one.';
      this.call.finish('ended', 'session_expired', { message: text, kind: 'warn' });
      return;
    }
    // Interrupt raced the answer's end: the answer is over, as the admin wanted; nothing failed.
    if (error.code === 'response_cancel_not_active') return;
    if (this.settings.refused(error, words)) return;
    this.view.showMessage(`The agent reported an error: ${words}`, 'warn');
  }

  /** The turn detection in force, when the event carries it: null means push-to-talk. */
  #followTurnDetection(effective) {
    const detection = effective?.audio?.input?.turn_detection;
    if (detection === undefined) return;
    this.settings.showTurnDetection(detection);
    this.microphone.setPushToTalk(detection === null);
  }
}
