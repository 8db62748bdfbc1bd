/** What went wrong while chatting, in words an admin can act on. */

export class ChatError extends Error {
  /** kind: refused (nothing was stored), broken (the stream broke off), failed (the answer failed on the server). */
  constructor(kind, message, { canRetry = false } = {}) {
    super(message);
    this.name = 'ChatError';
    this.kind = kind;
    this.canRetry = canRetry;
  }
}

export function networkError(error) {
  return new ChatError('refused', `The message did not reach the server (${error.message}). Check the connection ` +
    'and send it again: it is still in the box.');
}

/** An HTTP refusal of /chatkit, from the app's JSON envelope {code, message}. */
export function httpError(status, body) {
  const message = body?.message || `the server answered HTTP ${status}`;
  switch (body?.code) {
    case 'rate_limited':
      return new ChatError('refused', `You are sending chat messages faster than this server allows: ${message}`);
    case 'too_many_streams':
      return new ChatError('refused', `Too many answers at once: ${message}`);
    case 'not_authenticated':
      return new ChatError('refused', 'Your sign-in has ended. Reload the page and sign in again.');
    case 'not_configured':
      return new ChatError('refused', `Chat is not configured: ${message}`);
    case 'not_found':
      return new ChatError('refused', `${message} Reload the page.`);
    default:
      return new ChatError('refused', `The server refused the message: ${message}`);
  }
}

/** ChatKit's error event: the server's own words (the model refused, could not be reached), or what happened. */
export function streamError(event) {
  const message = event.message ||
    `The chat agent failed while answering (${event.code || 'stream.error'}); the details are in the server's log.`;
  return new ChatError('failed', message, { canRetry: Boolean(event.allow_retry) });
}
