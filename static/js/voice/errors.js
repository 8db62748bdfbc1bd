/** Failures of a voice session, each carrying words an admin can act on. */

export class VoiceError extends Error {
  /** kind: a short stable name for telemetry (e.g. "microphone-denied"); status: the HTTP status, if any. */
  constructor(kind, message, { status = null } = {}) {
    super(message);
    this.name = 'VoiceError';
    this.kind = kind;
    this.status = status;
  }
}

export function cancelledError() {
  return new VoiceError('cancelled', 'The session was hung up before it connected.');
}

export function insecureContextError() {
  return new VoiceError(
    'insecure-context',
    'HTTPS is required for microphone access: browsers only offer the microphone to https:// pages ' +
      '(and to localhost). Open this console over HTTPS.',
  );
}

/** Words for a getUserMedia rejection, by the DOMException name the browser gives. */
export function microphoneError(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new VoiceError(
        'microphone-denied',
        'Grant microphone permissions: the browser refused this page the microphone. Allow it in the site ' +
          'settings (the icon left of the address) and press Start Voice Session again.',
      );
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new VoiceError(
        'no-microphone',
        'No microphone was found. Connect one (or choose one in the system sound settings) and press Start again.',
      );
    case 'NotReadableError':
    case 'AbortError':
      return new VoiceError(
        'microphone-unavailable',
        'The microphone could not be started: another application may be holding it. Close it and press Start again.',
      );
    default:
      return new VoiceError('microphone', `The microphone could not be opened: ${error?.message || error}.`);
  }
}

export function iceError(detail) {
  return new VoiceError(
    'ice-failed',
    `The audio connection could not be established (ICE ${detail}): check the STUN/TURN servers ` +
      '(ICE_SERVERS) and that the network or firewall lets UDP through.',
  );
}

/** The human message in an error response: ours is {"message"}, OpenAI's is {"error": {"message"}}. */
export async function messageFromResponse(response) {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    const message = body?.message || body?.error?.message;
    if (message) return message;
  } catch {
    // Not JSON (a proxy's HTML page, say): show its start below.
  }
  return text.trim().slice(0, 300) || response.statusText || 'no message';
}

/** Any thrown value as a VoiceError, so the page always has words to show. */
export function asVoiceError(error) {
  if (error instanceof VoiceError) return error;
  return new VoiceError('unexpected', `Something went wrong in the browser: ${error?.message || error}`);
}

// Why an answer stopped early, in words, by status_details.reason.
const CUT_SHORT_REASONS = {
  content_filter: 'the content filter stopped it',
  max_output_tokens: 'it reached max_output_tokens (the Max output tokens setting)',
  turn_detected: 'you started speaking',
  client_cancelled: 'a client cancelled it (not this page’s Interrupt: a server-side control, say)',
};
// Common failure codes, in words the admin can act on.
const FAILURE_CODES = {
  insufficient_quota: 'the OpenAI organisation has run out of credit; check its plan and billing',
  rate_limit_exceeded: 'the OpenAI rate limit was reached; wait a moment and ask again',
  inference_rate_limit_exceeded: 'the OpenAI rate limit was reached; wait a moment and ask again',
  server_error: 'OpenAI had a server error; ask again',
};

/**
 * Words for a response.done that did not complete (failed, incomplete, or cancelled other than by the admin's
 * own Interrupt), or null when there is nothing to tell the admin.
 */
export function answerProblem(response, { cancelledByAdmin = false } = {}) {
  const status = response?.status;
  const details = response?.status_details ?? {};
  if (status === 'failed') {
    const error = details.error ?? {};
    const code = error.code || error.type;
    const words = error.message || FAILURE_CODES[code] || 'OpenAI gave no reason';
    return `The agent’s answer failed: ${words}${code ? ` (${code})` : ''}.`;
  }
  const reason = details.reason;
  const why = CUT_SHORT_REASONS[reason] ?? (reason ? `for the reason “${reason}”` : 'no reason was given');
  if (status === 'incomplete') return `The agent’s answer was cut short: ${why}.`;
  // A cancel the admin caused (Interrupt, or speaking over the agent) is no news to the admin.
  if (status === 'cancelled' && !cancelledByAdmin && reason !== 'turn_detected') {
    return `The agent’s answer was cancelled: ${why}.`;
  }
  return null;
}
