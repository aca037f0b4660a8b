"""Raw PCM arriving in pieces (a live stream): 16-bit little-endian mono at any rate in,
float32 mono at the model rate out.

The output depends only on the bytes, never on how they were split: an odd byte waits for
its partner, and the resampler is fed blocks of a fixed number of input samples. So a
stream gives the same samples, hence the same analysis, however the network cut it.

>>> import numpy as np
>>> pcm = (np.sin(np.arange(8000) / 5) * 8000).astype("<i2").tobytes()
>>> a, b = PcmReader(8000), PcmReader(8000)
>>> x = np.concatenate([a.push(pcm), a.flush()])
>>> y = np.concatenate([b.push(pcm[:1001]), b.push(pcm[1001:7777]), b.push(pcm[7777:]), b.flush()])
>>> len(x), bool(np.array_equal(x, y))
(16000, True)
"""

from __future__ import annotations

import numpy as np

from paravox.audio.errors import AudioError

__all__ = ["PcmReader", "MIN_RATE", "MAX_RATE"]

MIN_RATE = 8000
MAX_RATE = 192000


class PcmReader:
    """Turns pieces of 16-bit little-endian mono PCM at ``sample_rate`` into float32 mono at
    ``target_rate`` (16 kHz), the same samples however the bytes were split."""

    def __init__(self, sample_rate: int, *, target_rate: int = 16000, name: str = "stream") -> None:
        if not isinstance(sample_rate, (int, np.integer)) or not MIN_RATE <= sample_rate <= MAX_RATE:
            raise AudioError(name, "invalid_array", f"sample_rate {sample_rate!r} is not supported",
                             fix=f"send 16-bit mono PCM at a rate between {MIN_RATE} and {MAX_RATE} Hz (16000 is best)")
        self.sample_rate = int(sample_rate)
        self.target_rate = target_rate
        self.name = name
        self.received = 0  #: input samples so far
        self._odd = b""
        self._held = np.zeros(0, dtype=np.float32)  # input samples waiting for a full block
        self._block = max(1, self.sample_rate // 10)  # 0.1 s of input per resampler call
        self._resampler = None
        if self.sample_rate != target_rate:
            from paravox.audio.resample import Resampler

            self._resampler = Resampler(target_rate)

    def push(self, data: bytes) -> np.ndarray:
        """The new model-rate samples these bytes complete (possibly none yet)."""
        data = self._odd + bytes(data)
        usable = len(data) - len(data) % 2
        self._odd = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
        self.received += len(samples)
        if self._resampler is None:
            return samples
        self._held = np.concatenate([self._held, samples]) if self._held.size else samples
        whole = len(self._held) - len(self._held) % self._block
        out = [self._resample(self._held[i : i + self._block]) for i in range(0, whole, self._block)]
        self._held = self._held[whole:]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def flush(self) -> np.ndarray:
        """What is left at the end of the stream (an unpaired last byte is dropped)."""
        self._odd = b""
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        tail = [self._resample(self._held)] if self._held.size else []
        self._held = np.zeros(0, dtype=np.float32)
        tail.append(self._resampler.flush())
        return np.concatenate(tail)

    def _resample(self, block: np.ndarray) -> np.ndarray:
        import av

        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block, dtype=np.float32).reshape(1, -1),
                                           format="fltp", layout="mono")
        frame.sample_rate = self.sample_rate
        return self._resampler.push(frame)
