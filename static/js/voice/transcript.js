/** The conversation pane: both sides of the conversation, streamed in as the agent's events arrive. */

import { onServerEvents } from './events.js';

export class Transcript {
  constructor({ root, list }) {
    this.list = list;
    this.turns = new Map(); // "user:item_id" / "agent:item_id" -> the turn's text element
    onServerEvents(root, {
      'input_audio_buffer.speech_started': (event) => this.userSpeaking(event.item_id),
      'conversation.item.input_audio_transcription.delta': (event) => this.userDelta(event.item_id, event.delta),
      'conversation.item.input_audio_transcription.completed': (event) =>
        this.userDone(event.item_id, event.transcript),
      'conversation.item.input_audio_transcription.failed': (event) =>
        this.userNotTranscribed(event.item_id, event.error?.message ?? 'transcription failed'),
      'response.output_audio_transcript.delta': (event) => this.agentDelta(event.item_id, event.delta),
      'response.output_text.delta': (event) => this.agentDelta(event.item_id, event.delta),
      'response.output_audio_transcript.done': (event) => this.agentDone(event.item_id, event.transcript),
      'response.output_text.done': (event) => this.agentDone(event.item_id, event.text),
    });
    // What the admin typed shows as it goes out to the agent.
    root.addEventListener('voice:client-event', ({ detail }) => {
      const text = typedText(detail.event);
      if (text) this.typed(text);
    });
    root.addEventListener('voice:note', ({ detail }) => this.note(detail.text));
  }

  userSpeaking(itemId) {
    const text = this.#turn(`user:${itemId}`, 'user');
    if (!text.textContent) this.#pending(text, 'speaking…');
  }

  userDelta(itemId, delta) {
    this.#append(this.#turn(`user:${itemId}`, 'user'), delta);
  }

  userDone(itemId, transcript) {
    this.#final(this.#turn(`user:${itemId}`, 'user'), transcript);
  }

  userNotTranscribed(itemId, why) {
    this.#final(this.#turn(`user:${itemId}`, 'user'), `(speech not transcribed: ${why})`);
  }

  agentDelta(itemId, delta) {
    this.#append(this.#turn(`agent:${itemId}`, 'agent'), delta);
  }

  agentDone(itemId, transcript) {
    this.#final(this.#turn(`agent:${itemId}`, 'agent'), transcript);
  }

  typed(text) {
    this.#final(this.#turn(null, 'user', 'You (typed)'), text);
  }

  note(text) {
    this.#turn(null, 'note', '').textContent = text;
  }

  #turn(key, role, label = role === 'user' ? 'You' : 'Agent') {
    const known = key && this.turns.get(key);
    if (known) return known;
    const item = document.createElement('li');
    item.className = `turn turn-${role}`;
    if (label) {
      const who = document.createElement('span');
      who.className = 'turn-who';
      who.textContent = label;
      item.append(who);
    }
    const text = document.createElement('span');
    text.className = 'turn-text';
    item.append(text);
    this.list.append(item);
    if (key) this.turns.set(key, text);
    item.scrollIntoView?.({ block: 'nearest' });
    return text;
  }

  #pending(text, words) {
    text.textContent = words;
    text.classList.add('pending');
  }

  #append(text, delta) {
    if (text.classList.contains('pending')) {
      text.textContent = '';
      text.classList.remove('pending');
    }
    text.textContent += delta ?? '';
  }

  #final(text, transcript) {
    text.classList.remove('pending');
    if (typeof transcript === 'string' && transcript) text.textContent = transcript;
  }
}

/** The words of a typed user message the page sent (conversation.item.create), or null for any other event. */
function typedText(event) {
  const { item } = event;
  if (event.type !== 'conversation.item.create' || item?.type !== 'message' || item.role !== 'user') return null;
  return item.content?.find((part) => part.type === 'input_text')?.text ?? null;
}
