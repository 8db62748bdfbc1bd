/** Copies finished voice lines into the admin's chat thread (self-hosted chat): voice and text are one conversation. */

import { sendVoiceTranscript } from '../chat-transcript.js';
import { announce, onServerEvents } from './events.js';

export class ChatCopy {
  enabled = true; // hosted chat answers null (its threads live at OpenAI), and copying then stops
  threadId = null; // the thread the first line went into; later lines follow it

  /** A failure to copy is noted in the conversation, once (copying stops then). */
  constructor({ root }) {
    this.root = root;
    onServerEvents(root, {
      'conversation.item.input_audio_transcription.completed': (event) =>
        this.copy('user', event.transcript, event.item_id),
      'response.output_audio_transcript.done': (event) => this.copy('assistant', event.transcript, event.item_id),
      'response.output_text.done': (event) => this.copy('assistant', event.text, event.item_id),
    });
  }

  async copy(role, text, id) {
    if (!this.enabled || !text?.trim()) return;
    try {
      const saved = await sendVoiceTranscript([{ role, text, id }], { threadId: this.threadId });
      if (saved === null) this.enabled = false;
      else this.threadId = saved.threadId;
    } catch (error) {
      this.enabled = false;
      announce(this.root, 'voice:note', { text: `The conversation is not being copied to Chat: ${error.message}` });
    }
  }
}
