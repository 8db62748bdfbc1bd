"""Audio for the sandbox's peer: the outbound track it plays answers on, answer synthesis, and speech energy."""

import asyncio
import fractions
import io
import shutil
import time
import wave

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

SAMPLE_RATE = 48000  # Opus' native rate: aiortc encodes it without resampling
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
ESPEAK = shutil.which("espeak-ng")


class AnswerAudioTrack(MediaStreamTrack):
    """An outbound audio track that sends queued answer audio, and silence otherwise, so RTP flows both ways."""

    kind = "audio"

    def __init__(self, on_playback_finished=None):
        super().__init__()
        self._pending = np.zeros(0, dtype=np.int16)
        self._on_playback_finished = on_playback_finished
        self._start = None
        self._timestamp = 0

    @property
    def playing(self):
        return self._pending.size > 0

    def play(self, samples):
        self._pending = np.concatenate([self._pending, samples.astype(np.int16)])

    def clear(self):
        """Drops what is queued; True if something was still playing."""
        was_playing = self.playing
        self._pending = np.zeros(0, dtype=np.int16)
        return was_playing

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        # Paced like aiortc's own AudioStreamTrack: one 20 ms frame per 20 ms of wall-clock time.
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += FRAME_SAMPLES
            await asyncio.sleep(max(0.0, self._start + self._timestamp / SAMPLE_RATE - time.time()))
        chunk, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
        if chunk.size and not self._pending.size and self._on_playback_finished:
            self._on_playback_finished()
        samples = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        samples[: chunk.size] = chunk
        frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


def frame_level(frame):
    """Root-mean-square level of a received frame, 0.0 (silence) to 1.0 (full scale)."""
    samples = frame.to_ndarray().astype(np.float32)
    if frame.format.name.startswith("s16"):
        samples /= 32768.0
    return float(np.sqrt(np.mean(samples * samples))) if samples.size else 0.0


def frame_ms(frame):
    return 1000.0 * frame.samples / (frame.sample_rate or SAMPLE_RATE)


def tone(seconds, frequency=440.0, level=0.3):
    """A soft-edged sine tone at 48 kHz: clearly audible, easy to detect in tests."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)  # 20 ms fades avoid clicks
    return (np.sin(2 * np.pi * frequency * t) * envelope * level * 32767).astype(np.int16)


async def answer_audio(text, mode="auto"):
    """Speech for `text` from espeak-ng when installed (mode "auto"), else a tone about as long as the speech."""
    if mode == "auto" and ESPEAK:
        try:
            return await _espeak(text)
        except (OSError, asyncio.TimeoutError, wave.Error, EOFError, ValueError):
            pass  # a tone is still an audible answer
    return tone(min(3.0, 0.4 + 0.03 * len(text)))


async def _espeak(text):
    process = await asyncio.create_subprocess_exec(
        ESPEAK, "--stdout", "-s", "190", "--", text, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        wav_bytes, _ = await asyncio.wait_for(process.communicate(), timeout=5)
    except BaseException:  # timed out, or the response was cancelled: leave no espeak-ng behind
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0 or not wav_bytes:
        raise OSError(f"espeak-ng exited with {process.returncode}")
    return _resampled_wav(wav_bytes)


def _resampled_wav(wav_bytes):
    with wave.open(io.BytesIO(wav_bytes)) as reader:
        rate, channels = reader.getframerate(), reader.getnchannels()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    samples = samples.reshape(-1, channels)[:, 0].astype(np.float32)
    positions = np.arange(int(samples.size * SAMPLE_RATE / rate)) * rate / SAMPLE_RATE
    return np.interp(positions, np.arange(samples.size), samples).astype(np.int16)
