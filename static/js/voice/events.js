/**
 * The voice page's DOM events: the call announces what happens on #voice-console, and each part of the page
 * subscribes itself to what it shows or acts on (no part knows the others). They bubble, so htmx fragments and
 * status-panel.js hear voice:state, voice:minted and voice:ended on document.
 *
 * From the call (call.js):
 *   voice:starting          a new admin session (Start or Reconnect); the parts forget the last one
 *   voice:state             {state}: idle, waiting-for-microphone, connecting, connected, reconnecting, ended, error
 *   voice:attempt           a connection attempt begins (a session spans one, or several after drops)
 *   voice:minted            {expiresAt}: a client secret for this call (Unix seconds)
 *   voice:connected         {session, reconnected, connectMs}: the attempt is up, its microphone live
 *   voice:attempt-ended     {reason, connected}: the attempt is over (connected: it had been up)
 *   voice:released          the attempt's microphone, channel and peer are gone
 *   voice:ended             {reason}: the admin's session is over
 *   voice:server-event      {event}: one event from the agent, parsed
 *   voice:client-event      {event}: one event this page sent
 *   voice:playback-blocked  {error}: the agent's audio element refused to play
 * From the parts:
 *   voice:notice            {text, kind, reconnect}: the message box (null text hides it)
 *   voice:note              {text}: a line in the conversation
 *   voice:microphone        {live}: whether the admin is heard now (mute, push-to-talk)
 *   voice:response-wanted   something was said or handed back that the agent should answer (responses.js sends it)
 *   voice:agent-error       {error, words}: an error event; cancelable: the part it belongs to calls
 *                           preventDefault() and shows it itself, else the message box shows it (agent-errors.js)
 */

/** Dispatches `type` on `target`; returns false if a listener called preventDefault() on a cancelable event. */
export function announce(target, type, detail = {}, { cancelable = false } = {}) {
  return target.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, cancelable }));
}

/** Calls handlers[type](event) for each voice:server-event whose event has a type the handlers name. */
export function onServerEvents(root, handlers) {
  root.addEventListener('voice:server-event', ({ detail }) => {
    const type = detail.event?.type;
    if (Object.hasOwn(handlers, type)) handlers[type](detail.event);
  });
}

/** The message box: `text` in the kind's colour ("error", "warn" or "info"); null hides it. */
export function notice(target, text, kind = 'error', { reconnect = false } = {}) {
  announce(target, 'voice:notice', { text, kind, reconnect });
}
