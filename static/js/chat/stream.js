/**
 * Sends one ChatKit request to this server's /chatkit endpoint (the widget's own) and reads the answer's
 * server-sent events as they come: `sendChatKit(url, body, {signal})` resolves to the response (or throws a
 * ChatError in words), and `chatKitEvents(response)` yields each event as an object.
 */

import { ChatError, httpError, networkError } from './errors.js';

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content ?? '';

export async function sendChatKit(url, body, { signal } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
      credentials: 'same-origin',
      body: JSON.stringify(body),
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw networkError(error);
  }
  if (!response.ok) throw httpError(response.status, await response.json().catch(() => null));
  return response;
}

/** The events of a ChatKit stream ("data: {json}" blocks); throws ChatError('broken') if the connection breaks. */
export async function* chatKitEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (true) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ChatError('broken', 'The answer stopped arriving before it was complete (the connection broke).');
    }
    if (chunk.done) break;
    buffer += decoder.decode(chunk.value, { stream: true });
    const blocks = buffer.split('\n\n');
    buffer = blocks.pop();
    for (const block of blocks) {
      for (const line of block.split('\n')) {
        if (line.startsWith('data: ')) yield JSON.parse(line.slice(6));
      }
    }
  }
}
