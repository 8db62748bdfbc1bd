/** Minting a Realtime client secret at the console server (ephemeral mode). */

import { VoiceError, messageFromResponse } from './errors.js';

/**
 * Mints a client secret at the console server; `prepare` marks one minted ahead of the click (its own budget and
 * activity kind on the server). Answers the mint's data ({token, sdpUrl, iceServers, ...}); rejects with a VoiceError.
 */
export async function mintSecret({ secretUrl, csrfToken, signal, prepare = false, fetchWith = fetch }) {
  const headers = { 'X-CSRFToken': csrfToken };
  const options = { method: 'POST', headers, signal };
  if (prepare) {
    headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify({ prepare: true });
  }
  const response = await fetchWith(secretUrl, options);
  if (!response.ok) {
    const message = await messageFromResponse(response);
    throw new VoiceError('secret', `Could not get a session secret (HTTP ${response.status}): ${message}`, {
      status: response.status,
    });
  }
  const { data } = await response.json();
  if (!data?.token?.value) throw new VoiceError('secret', 'The server answered without a client secret.');
  return data;
}
