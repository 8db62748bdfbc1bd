/** The conversation pane: both sides of the conversation, streamed in as the agent's events arrive. */

export class Transcript {
  constructor(list) {
    this.list = list;
    this.turns = new Map(); // "user:item_id" / "agent:item_id" -> the turn's text element
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
