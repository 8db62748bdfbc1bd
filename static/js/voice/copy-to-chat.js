/** Copies finished voice lines into the admin's chat thread (self-hosted chat): voice and text are one conversation. */

import { sendVoiceTranscript } from '../chat-transcript.js';

export class ChatCopy {
  enabled = true; // hosted chat answers null (its threads live at OpenAI), and copying then stops
  threadId = null; // the thread the first line went into; later lines follow it

  /** transcript: where a failure to copy is noted, once (copying stops then). */
  constructor(transcript) {
    this.transcript = transcript;
  }

  async copy(role, text, id) {
    if (!this.enabled || !text?.trim()) return;
    try {
      const saved = await sendVoiceTranscript([{ role, text, id }], { threadId: this.threadId });
      if (saved === null) this.enabled = false;
      else this.threadId = saved.threadId;
    } catch (error) {
      this.enabled = false;
      this.transcript.note(`The conversation is not being copied to Chat: ${error.message}`);
    }
  }
}
