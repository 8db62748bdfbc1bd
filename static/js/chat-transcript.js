/**
 * Puts a voice session's transcript into the admin's current chat thread (self-hosted chat), then tells any
 * open chat page to show it. For the voice page: `sendVoiceTranscript([{role, text, id}])` (docs/chat.md).
 */

export const CHANNEL_NAME = 'voice-console';
export const TRANSCRIPT_URL = '/api/v1/chat/voice-transcript';

/**
 * entries: [{role: "user"|"assistant", text, id?}]; an id (e.g. the Realtime item id) makes a repeat an update.
 * Resolves to {threadId, added}, or null in hosted chat mode (there is no local thread to write into).
 */
export async function sendVoiceTranscript(entries, { threadId = null } = {}) {
  const token = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
  const response = await fetch(TRANSCRIPT_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token },
    credentials: 'same-origin',
    body: JSON.stringify({ threadId, entries }),
  });
  const body = await response.json().catch(() => null);
  if (response.status === 409 && body?.code === 'not_self_hosted') return null;
  if (!response.ok) throw new Error(body?.message || `The transcript was not saved (HTTP ${response.status}).`);
  if ('BroadcastChannel' in window) {
    const channel = new BroadcastChannel(CHANNEL_NAME);
    channel.postMessage({ type: 'chat:transcripts-added', threadId: body.data.threadId });
    channel.close();
  }
  return body.data;
}
