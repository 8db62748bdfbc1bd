/** Token usage summed over a session's response.done events, and its estimated cost. */

export function emptyUsage() {
  return {
    inputTextTokens: 0,
    inputAudioTokens: 0,
    cachedTokens: 0,
    outputTextTokens: 0,
    outputAudioTokens: 0,
    cachedAudioTokens: 0,
  };
}

/** Adds one response.done's response.usage to the totals (in place). */
export function addUsage(totals, usage) {
  if (!usage) return totals;
  const input = usage.input_token_details ?? {};
  const output = usage.output_token_details ?? {};
  totals.inputTextTokens += input.text_tokens ?? 0;
  totals.inputAudioTokens += input.audio_tokens ?? 0;
  totals.cachedTokens += input.cached_tokens ?? 0;
  // Cached tokens are billed at the cached rate instead of their modality's rate; OpenAI may say which they were.
  totals.cachedAudioTokens += input.cached_tokens_details?.audio_tokens ?? 0;
  totals.outputTextTokens += output.text_tokens ?? 0;
  totals.outputAudioTokens += output.audio_tokens ?? 0;
  return totals;
}

const PRICE_KEYS = ['audioIn', 'cachedIn', 'audioOut', 'textIn', 'textOut'];

/**
 * Estimated USD from prices per million tokens {audioIn, cachedIn, audioOut, textIn, textOut}, or null when the
 * model's prices are not all known: a partial sum would look like a real cost.
 */
export function estimateCost(totals, prices) {
  if (!PRICE_KEYS.every((key) => typeof prices?.[key] === 'number')) return null;
  // Without a breakdown, count cached tokens as audio first: audio dominates a voice session's input.
  const cachedAudio = Math.min(totals.cachedAudioTokens || totals.cachedTokens, totals.inputAudioTokens);
  const cachedText = Math.min(totals.cachedTokens - cachedAudio, totals.inputTextTokens);
  const perToken = (price) => price / 1_000_000;
  return (
    (totals.inputAudioTokens - cachedAudio) * perToken(prices.audioIn) +
    (totals.inputTextTokens - cachedText) * perToken(prices.textIn) +
    (cachedAudio + cachedText) * perToken(prices.cachedIn) +
    totals.outputAudioTokens * perToken(prices.audioOut) +
    totals.outputTextTokens * perToken(prices.textOut)
  );
}

/** To a millionth of a dollar, so reports and the page carry no float noise (0.1 + 0.2 = 0.30000000000000004). */
export function roundCost(usd) {
  return usd === null ? null : Math.round(usd * 1e6) / 1e6;
}

/** The usage as COMMON.md's telemetry body names it. */
export function telemetryUsage(totals) {
  const { inputTextTokens, inputAudioTokens, cachedTokens, outputTextTokens, outputAudioTokens } = totals;
  return { inputTextTokens, inputAudioTokens, cachedTokens, outputTextTokens, outputAudioTokens };
}
