/** One WebRTC call to the Realtime API: microphone, client secret, peer connection, data channel, teardown. */

import {
  VoiceError,
  cancelledError,
  iceError,
  insecureContextError,
  messageFromResponse,
  microphoneError,
} from './errors.js';

const MICROPHONE = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } };
// Chrome reports "disconnected" on short network blips and often recovers on its own within a few seconds.
const DISCONNECT_GRACE_MS = 4000;

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

/**
 * Events (on the instance): "state" {state}, "minted" {expiresAt}, "server-event" (detail: the event),
 * "client-event" (detail: the event), "lost" {reason} once, if a connected call drops, and "playback-blocked"
 * {error} when the agent's audio element refuses to play (the browser's autoplay policy, usually).
 */
export class VoiceSession extends EventTarget {
  #stopped = false;
  #lost = false;
  #abort = new AbortController();
  #graceTimer = null;

  /**
   * `prepared`: a promise of a PreparedCall (prepare.js) made before the click, or of null for today's path.
   */
  constructor({ mode, secretUrl, callsUrl, csrfToken, iceServers, connectTimeoutMs, remoteAudio, prepared = null }) {
    super();
    Object.assign(this, { mode, secretUrl, callsUrl, csrfToken, iceServers, connectTimeoutMs, remoteAudio });
    this.prepared = prepared;
    this.stream = null;
    this.pc = null;
    this.channel = null;
    this.transceiver = null;
    this.callId = null;
    this.usedPrepared = false;
  }

  /**
   * Resolves once the call is connected (data channel open) and the microphone is live; rejects with a VoiceError.
   * The microphone opens at once, whichever path follows.
   */
  async start() {
    try {
      if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) throw insecureContextError();
      this.#emit('state', { state: 'waiting-for-microphone' });
      const microphone = this.#startMicrophone();
      const prepared = await Promise.resolve(this.prepared).catch(() => null);
      if (this.#stopped) prepared?.close();
      this.#throwIfStopped();
      if (prepared) await this.#startPrepared(prepared, microphone);
      else await this.#startUnprepared(microphone);
      this.#watchConnection();
    } catch (error) {
      const stoppedMeanwhile = this.#stopped;
      this.stop();
      throw stoppedMeanwhile ? cancelledError() : error;
    }
  }

  /** Today's path: microphone ∥ mint, then the peer and its offer, the SDP exchange, ICE/DTLS. */
  async #startUnprepared(microphone) {
    // The secret request runs while the admin answers the microphone prompt.
    const secret = this.mode === 'relay' ? Promise.resolve(null) : this.#mintSecret();
    secret.catch(() => {}); // awaited below; this only keeps a rejection from going unhandled meanwhile
    await microphone;
    this.#emit('state', { state: 'connecting' });
    const minted = await secret;
    this.#throwIfStopped();
    this.#createPeer(minted?.iceServers ?? this.iceServers);
    // Post the offer at once, as OpenAI's clients do: waiting for ICE gathering only adds delay.
    await this.pc.setLocalDescription();
    const answer = await this.#exchangeSdp(this.pc.localDescription.sdp, minted);
    this.#throwIfStopped();
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await this.#connected();
  }

  /**
   * The prepared path: the peer, its transceiver, channel and offer (and the secret) exist already, so the offer
   * goes out at once while the microphone opens; its track joins the transceiver with replaceTrack (no
   * renegotiation). Connected needs both, so an admin who speaks at Connected is heard.
   */
  async #startPrepared(prepared, microphone) {
    this.usedPrepared = true;
    this.#adopt(prepared);
    if (prepared.minted) this.#emit('minted', { expiresAt: prepared.minted.token.expires_at });
    let up = false;
    const live = microphone.then(async (stream) => {
      await this.transceiver.sender.replaceTrack(stream.getAudioTracks()[0] ?? null);
      this.#throwIfStopped();
      if (!up) this.#emit('state', { state: 'connecting' });
    });
    const connection = (async () => {
      // The offer as it stands now: the candidates gathered since preparing are in it, no trickling needed.
      const answer = await this.#exchangeSdp(this.pc.localDescription.sdp, prepared.minted);
      this.#throwIfStopped();
      await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
      await this.#connected();
      up = true;
    })();
    live.catch(() => {});
    connection.catch(() => {});
    await Promise.all([live, connection]); // the first failure rejects at once; start() then stops the rest
  }

  /** Sends a client event over the data channel; false if the channel is not open. */
  send(event) {
    if (this.channel?.readyState !== 'open') return false;
    this.channel.send(JSON.stringify(event));
    this.#emit('client-event', event);
    return true;
  }

  setMicrophoneEnabled(enabled) {
    for (const track of this.stream?.getAudioTracks() ?? []) track.enabled = enabled;
  }

  /**
   * Bytes of audio sent and received so far, from getStats, and the energy of the audio received (null where the
   * browser does not report it): silence, which keeps RTP flowing, adds bytes but no energy.
   */
  async audioBytes() {
    const totals = { sent: 0, received: 0, receivedEnergy: null };
    if (!this.pc || this.pc.connectionState === 'closed') return totals;
    (await this.pc.getStats()).forEach((report) => {
      if (report.kind !== 'audio') return;
      if (report.type === 'outbound-rtp') totals.sent += report.bytesSent ?? 0;
      if (report.type !== 'inbound-rtp') return;
      totals.received += report.bytesReceived ?? 0;
      if (report.totalAudioEnergy !== undefined) totals.receivedEnergy += report.totalAudioEnergy;
    });
    return totals;
  }

  /** Releases everything: microphone tracks (the browser's mic indicator goes off), channel, peer, timers. */
  stop() {
    this.#stopped = true;
    this.#abort.abort();
    clearTimeout(this.#graceTimer);
    this.channel?.close();
    this.pc?.close();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    if (this.remoteAudio) this.remoteAudio.srcObject = null;
  }

  /** Opens the microphone; a stream that arrives after stop() is stopped at once (the indicator goes off). */
  #startMicrophone() {
    const opening = this.#openMicrophone().then((stream) => {
      this.stream = stream;
      if (this.#stopped) {
        for (const track of stream.getTracks()) track.stop();
        throw cancelledError();
      }
      return stream;
    });
    opening.catch(() => {}); // awaited by the path that follows; this only keeps a rejection handled meanwhile
    return opening;
  }

  async #openMicrophone() {
    try {
      return await navigator.mediaDevices.getUserMedia(MICROPHONE);
    } catch (error) {
      throw microphoneError(error);
    }
  }

  async #mintSecret() {
    const data = await mintSecret({
      secretUrl: this.secretUrl,
      csrfToken: this.csrfToken,
      fetchWith: (url, options) => this.#fetch(url, options, 'the console server'),
    });
    this.#emit('minted', { expiresAt: data.token.expires_at });
    return data;
  }

  async #exchangeSdp(offer, minted) {
    if (this.mode === 'relay') return this.#postOffer(this.callsUrl, offer, { 'X-CSRFToken': this.csrfToken });
    try {
      return await this.#postOffer(minted.sdpUrl, offer, { Authorization: `Bearer ${minted.token.value}` });
    } catch (error) {
      if (error.status !== 401) throw error;
      // The secret expired between minting and posting (it only bounds starting a call): mint once more.
      const fresh = await this.#mintSecret();
      this.#throwIfStopped();
      return this.#postOffer(fresh.sdpUrl, offer, { Authorization: `Bearer ${fresh.token.value}` });
    }
  }

  async #postOffer(url, offer, headers) {
    const response = await this.#fetch(
      url,
      { method: 'POST', body: offer, headers: { 'Content-Type': 'application/sdp', ...headers } },
      new URL(url, location.href).origin,
    );
    if (!response.ok) {
      const message = await messageFromResponse(response);
      throw new VoiceError('sdp', `The SDP exchange failed (HTTP ${response.status}): ${message}`, {
        status: response.status,
      });
    }
    // OpenAI names the call in Location (/v1/realtime/calls/rtc_...); our relay in X-Realtime-Call-Id.
    const callPath = response.headers.get('Location');
    this.callId = callPath ? callPath.split('/').pop() : response.headers.get('X-Realtime-Call-Id');
    return response.text();
  }

  async #fetch(url, options, whom) {
    try {
      return await fetch(url, { ...options, signal: this.#abort.signal });
    } catch (error) {
      if (this.#stopped) throw cancelledError();
      throw new VoiceError('network', `Could not reach ${whom} (${error.message}). Check the network and try again.`);
    }
  }

  #createPeer(iceServers) {
    this.pc = new RTCPeerConnection({ iceServers });
    this.#listenToPeer();
    for (const track of this.stream.getAudioTracks()) this.pc.addTrack(track, this.stream);
    this.channel = this.pc.createDataChannel('oai-events');
    this.channel.addEventListener('message', (message) => this.#receive(message.data));
  }

  /** Takes over a prepared peer: from here on, stop() closes it. */
  #adopt(prepared) {
    this.pc = prepared.pc;
    this.transceiver = prepared.transceiver;
    this.channel = prepared.channel;
    this.#listenToPeer();
    this.channel.addEventListener('message', (message) => this.#receive(message.data));
  }

  #listenToPeer() {
    this.pc.addEventListener('track', (event) => {
      if (!this.remoteAudio) return;
      this.remoteAudio.srcObject = event.streams[0] ?? new MediaStream([event.track]);
      // The Start click usually lets the page play sound; a browser that still blocks it rejects play().
      this.remoteAudio.play().catch((error) => this.#emit('playback-blocked', { error }));
    });
  }

  #receive(text) {
    let event;
    try {
      event = JSON.parse(text);
    } catch {
      event = { type: 'invalid.json', text: String(text).slice(0, 500) };
    }
    this.#emit('server-event', event);
  }

  /** Waits for the data channel to open; ICE failure, a timeout or stop() reject it. */
  #connected() {
    return new Promise((resolve, reject) => {
      const { pc, channel } = this;
      const settle = (error) => {
        clearTimeout(timer);
        channel.removeEventListener('open', onOpen);
        pc.removeEventListener('iceconnectionstatechange', onChange);
        pc.removeEventListener('connectionstatechange', onChange);
        this.#abort.signal.removeEventListener('abort', onAbort);
        error ? reject(error) : resolve();
      };
      const onOpen = () => settle();
      const onChange = () => {
        if (pc.iceConnectionState === 'failed' || pc.connectionState === 'failed') settle(iceError('failed'));
      };
      const onAbort = () => settle(cancelledError());
      const seconds = Math.round(this.connectTimeoutMs / 100) / 10;
      const timer = setTimeout(() => settle(iceError(`still not connected after ${seconds} s`)), this.connectTimeoutMs);
      channel.addEventListener('open', onOpen);
      pc.addEventListener('iceconnectionstatechange', onChange);
      pc.addEventListener('connectionstatechange', onChange);
      this.#abort.signal.addEventListener('abort', onAbort);
      if (channel.readyState === 'open') settle();
    });
  }

  #watchConnection() {
    this.pc.addEventListener('connectionstatechange', () => {
      clearTimeout(this.#graceTimer);
      const state = this.pc.connectionState;
      if (state === 'failed') this.#dropped('the network path to the agent failed');
      if (state === 'disconnected') {
        const wentAway = () => this.#dropped('the network path to the agent went away');
        this.#graceTimer = setTimeout(wentAway, DISCONNECT_GRACE_MS);
      }
    });
    this.channel.addEventListener('close', () => this.#dropped('the agent closed the event channel'));
  }

  #dropped(reason) {
    if (this.#stopped || this.#lost) return;
    this.#lost = true;
    this.#emit('lost', { reason });
  }

  #throwIfStopped() {
    if (this.#stopped) throw cancelledError();
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
