/** Random ids for telemetry attempts and client event ids. */

/** 32 hex digits; crypto.randomUUID exists only in secure contexts, and this page must explain an insecure one. */
export function randomId() {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}
