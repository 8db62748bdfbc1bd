/** The agent's responses: asking for one without overlapping a running one, and interrupting one. */

export class Responses {
  active = false;
  wanted = false; // asked for while another response was running: sent when that one is done

  /** call: the VoiceCall, whose current session carries the requests. */
  constructor(call) {
    this.call = call;
  }

  /** Asks for a response now, or once the running one is done (OpenAI refuses a second one meanwhile). */
  request() {
    this.wanted = this.active;
    if (!this.active) this.call.session?.send({ type: 'response.create' });
  }

  created() {
    this.active = true;
  }

  done() {
    this.active = false;
    if (this.wanted) this.request();
  }

  interrupt() {
    const { session } = this.call;
    if (this.active) session?.send({ type: 'response.cancel' }); // cancelling with none active is an error event
    session?.send({ type: 'output_audio_buffer.clear' }); // WebRTC only: stops audio already on its way
  }

  /** The call ended: its responses with it. */
  reset() {
    this.active = false;
    this.wanted = false;
  }
}
