/** The microphone level, measured with a Web Audio analyser, for the level meter and the silence warning. */

const INTERVAL_MS = 100; // a timer, not requestAnimationFrame, so it keeps running in a background tab
const FLOOR_DB = -60; // a level at or below this shows as an empty meter

/** Calls onLevel(level 0..1, rms) every 100 ms; returns {stop()}. */
export function startLevelMeter(stream, onLevel) {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  context.resume().catch(() => {});
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const sample of samples) sum += sample * sample;
    const rms = Math.sqrt(sum / samples.length);
    const decibels = rms > 0 ? 20 * Math.log10(rms) : FLOOR_DB;
    onLevel(Math.min(1, Math.max(0, (decibels - FLOOR_DB) / -FLOOR_DB)), rms);
  }, INTERVAL_MS);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      source.disconnect();
      context.close().catch(() => {});
    },
  };
}
