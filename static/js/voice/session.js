/** One WebRTC call to the Realtime API: microphone, client secret, peer connection, data channel, teardown. */

import {
  VoiceError,
  cancelledError,
  iceError,
  insecureContextError,
  messageFromResponse,
  microphoneError,
} from './errors.js';
import { mintSecret } from './mint.js';
import { prepareCall } from './prepared-call.js';

const MICROPHONE = { audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } };
// Chrome reports "disconnected" on short network blips and often recovers on its own within a few seconds.
const DISCONNECT_GRACE_MS = 4000;

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
   * `prepared`: a promise of a PreparedCall (prepare.js) made before the click, or of null: the call then prepares
   * its own first.
   */
  constructor({ mode, secretUrl, callsUrl, csrfToken, iceServers, connectTimeoutMs, remoteAudio, prepared = null }) {
    super();
    Object.assign(this, { mode, secretUrl, callsUrl, csrfToken, iceServers, connectTimeoutMs, remoteAudio });
    this.prepared = prepared;
    this.stream = null;
    this.pc = null;
    this.channel = null;
    this.transceiver = null;
    this.minted = null; // the mint's data in ephemeral mode: the secret the offer is posted with
    this.callId = null;
    this.usedPrepared = false;
  }

  /**
   * Resolves once the call is connected (data channel open) and the microphone is live; rejects with a VoiceError.
   * One path: the microphone opens at once; beside it the call is readied up to its offer (unless it was before
   * the click: a mint in ephemeral mode, the peer, its transceiver, channel and offer), the offer goes out, and the
   * microphone's track joins the transceiver with replaceTrack (no renegotiation). Connected needs both, so an
   * admin who speaks at Connected is heard.
   */
  async start() {
    try {
      if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) throw insecureContextError();
      this.#emit('state', { state: 'waiting-for-microphone' });
      const microphone = this.#startMicrophone();
      let up = false;
      const ready = this.#ready();
      const live = microphone.then(async (stream) => {
        if (!up) this.#emit('state', { state: 'connecting' });
        await ready;
        await this.transceiver.sender.replaceTrack(stream.getAudioTracks()[0] ?? null);
        this.#throwIfStopped();
      });
      const connection = ready.then(async () => {
        // The offer as it stands now: the candidates gathered since preparing are in it, no trickling needed.
        const answer = await this.#exchangeSdp(this.pc.localDescription.sdp);
        this.#throwIfStopped();
        await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
        await this.#connected();
        up = true;
      });
      live.catch(() => {});
      connection.catch(() => {});
      await Promise.all([live, connection]); // the first failure rejects at once; the catch below stops the rest
      this.#watchConnection();
    } catch (error) {
      const stoppedMeanwhile = this.#stopped;
      this.stop();
      throw stoppedMeanwhile ? cancelledError() : error;
    }
  }

  /** The call prepared before the click (prepare.js hands over only a fresh one), else one prepared now. */
  async #ready() {
    let call = await Promise.resolve(this.prepared).catch(() => null);
    if (call) {
      this.usedPrepared = true;
    } else {
      this.#throwIfStopped();
      call = await prepareCall({
        iceServers: this.iceServers,
        mint: this.mode === 'relay' ? null : () => this.#mintSecret(),
        signal: this.#abort.signal,
      });
    }
    if (this.#stopped) call.close();
    this.#throwIfStopped();
    this.#adopt(call);
    if (call.minted) this.#emit('minted', { expiresAt: call.minted.token.expires_at });
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

  #mintSecret() {
    return mintSecret({
      secretUrl: this.secretUrl,
      csrfToken: this.csrfToken,
      fetchWith: (url, options) => this.#fetch(url, options, 'the console server'),
    });
  }

  async #exchangeSdp(offer) {
    if (this.mode === 'relay') return this.#postOffer(this.callsUrl, offer, { 'X-CSRFToken': this.csrfToken });
    const { minted } = this;
    try {
      return await this.#postOffer(minted.sdpUrl, offer, { Authorization: `Bearer ${minted.token.value}` });
    } catch (error) {
      if (error.status !== 401) throw error;
      // The secret expired between minting and posting (it only bounds starting a call): mint once more.
      const fresh = await this.#mintSecret();
      this.#emit('minted', { expiresAt: fresh.token.expires_at });
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

  /** Takes over a prepared call: from here on, stop() closes it. */
  #adopt(prepared) {
    this.pc = prepared.pc;
    this.transceiver = prepared.transceiver;
    this.channel = prepared.channel;
    this.minted = prepared.minted;
    this.channel.addEventListener('message', (message) => this.#receive(message.data));
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
