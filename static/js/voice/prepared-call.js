/**
 * A call made ready up to its offer: an RTCPeerConnection with an audio transceiver (sendrecv, no track yet), the
 * `oai-events` data channel and its offer set as local description, plus, in ephemeral mode, a client secret.
 * Every call starts from one: prepared before the click (prepare.js), or at the click itself (session.js).
 */

export class PreparedCall {
  constructor({ pc, transceiver, channel, minted, madeAt }) {
    Object.assign(this, { pc, transceiver, channel, minted, madeAt });
    this.freshUntil = Infinity; // prepare.js shortens it for a call kept waiting for a click
  }

  /** Still usable for a click: not past its refresh time, its offer unanswered, nothing closed. */
  get fresh() {
    return (
      Date.now() < this.freshUntil &&
      this.pc.signalingState === 'have-local-offer' &&
      this.channel.readyState === 'connecting' &&
      this.pc.connectionState !== 'failed'
    );
  }

  close() {
    this.channel.close();
    this.pc.close();
  }
}

/**
 * Makes one PreparedCall; rejects (and releases what it made) on any error or once `signal` aborts.
 * mint(): a promise of the mint's data, or null in relay mode (no secret: the server relays the offer).
 */
export async function prepareCall({ iceServers, mint = null, signal }) {
  const minted = mint ? await mint() : null;
  if (signal.aborted) throw new Error('released');
  const pc = new RTCPeerConnection({ iceServers: minted?.iceServers ?? iceServers });
  try {
    const transceiver = pc.addTransceiver('audio', { direction: 'sendrecv' });
    const channel = pc.createDataChannel('oai-events');
    // The offer is posted as soon as it is set, as OpenAI's clients do: waiting for ICE gathering only adds delay.
    await pc.setLocalDescription();
    if (signal.aborted) throw new Error('released');
    return new PreparedCall({ pc, transceiver, channel, minted, madeAt: Date.now() });
  } catch (error) {
    pc.close();
    throw error;
  }
}
