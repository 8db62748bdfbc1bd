"""Writes a WAV that Chromium can use as its fake microphone: speech-like bursts with pauses, so turns end.

Chromium's default fake microphone only beeps (60 ms every 500 ms), which the sandbox does not count as speech.
For a browser test that speaks, launch Chromium with `--use-fake-device-for-media-stream
--use-file-for-fake-audio-capture=PATH` (it loops the file):

    python -m sandbox.fake_mic /tmp/speech.wav
"""

import sys
import wave

import numpy as np

RATE = 48000


def speech_like(seconds, fundamental=140.0):
    """Voiced sound with a wandering pitch and a syllable-rate (4 Hz) envelope: energy throughout, never a tone."""
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = fundamental * (1 + 0.15 * np.sin(2 * np.pi * 1.3 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = (0.65 + 0.35 * np.sin(2 * np.pi * 4 * t)) * np.minimum(1.0, np.minimum(t, t[::-1]) / 0.03)
    return voice / np.max(np.abs(voice)) * envelope * 0.5


def write_fake_mic_wav(path, *, lead_silence=0.5, speech_seconds=1.5, trailing_silence=2.5):
    """One loop: a pause, a 'sentence', then a pause longer than any turn-detection silence (so the turn ends)."""
    signal = np.concatenate([np.zeros(int(lead_silence * RATE)), speech_like(speech_seconds),
                             np.zeros(int(trailing_silence * RATE))])
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes((signal * 32767).astype(np.int16).tobytes())
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m sandbox.fake_mic PATH.wav")
    print(write_fake_mic_wav(sys.argv[1]))
