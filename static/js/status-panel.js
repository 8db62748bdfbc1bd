/**
 * Counts down the current client secret's expiry on the voice page's status panel.
 * The voice module announces each new secret with a `voice:minted` event ({expiresAt}, Unix seconds).
 */

const expiry = document.querySelector('[data-secret-expiry]');
let timer = null;

function describe(expiresAt) {
  const seconds = Math.round(expiresAt - Date.now() / 1000);
  if (seconds <= 0) {
    return 'Current secret: expired (a new one is minted at the next connect; a running session is not affected).';
  }
  const minutes = Math.floor(seconds / 60);
  const left = minutes ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
  return `Current secret: expires in ${left}.`;
}

function showExpiry(expiresAt) {
  expiry.dataset.expiresAt = String(expiresAt);
  expiry.textContent = describe(expiresAt);
  clearInterval(timer);
  timer = setInterval(() => {
    expiry.textContent = describe(expiresAt);
    if (expiresAt <= Date.now() / 1000) clearInterval(timer);
  }, 1000);
}

if (expiry && expiry.dataset.connectMode !== 'relay') {
  document.addEventListener('voice:minted', (event) => {
    let expiresAt = Number(event.detail && event.detail.expiresAt);
    if (expiresAt > 1e12) expiresAt /= 1000; // milliseconds, not OpenAI's Unix seconds
    if (Number.isFinite(expiresAt) && expiresAt > 0) showExpiry(expiresAt);
  });
}
