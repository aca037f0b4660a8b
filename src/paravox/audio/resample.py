"""Resampling and downmixing with libswresample (through PyAV), for decoded files and arrays alike."""

from __future__ import annotations

import numpy as np

__all__ = ["Resampler", "resample"]


class Resampler:
    """Decoded frames in any format/layout/rate -> float32 mono at ``sample_rate``.

    Channels are averaged after resampling (libswresample's own downmix scales
    float output by 1/sqrt(2) per channel, which would change loudness). The
    total output length is exactly round(input length * ratio): libswresample
    emits nothing for inputs shorter than its filter, so those are padded with
    zeros at the end.
    """

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate
        self.setup = None  # (format, layout, rate) of the frames going in
        self.resampler = None
        self.expected = 0.0  # output samples the input so far should give
        self.emitted = 0

    def push(self, frame) -> np.ndarray:
        import av

        out = []
        setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        if setup != self.setup:  # the first frame, or the stream changed format mid-way
            out += self._drain()
            self.setup = setup
            self.resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=self.sample_rate)
        self.expected += frame.samples * self.sample_rate / frame.sample_rate
        frame.pts = None
        out += [self._mono(converted) for converted in self.resampler.resample(frame)]
        return self._emit(out)

    def flush(self) -> np.ndarray:
        out = self._drain()
        missing = round(self.expected) - self.emitted - sum(map(len, out))
        if missing > 0:
            out.append(np.zeros(missing, dtype=np.float32))
        return self._emit(out)

    def _drain(self) -> list[np.ndarray]:
        if self.resampler is None:
            return []
        out = [self._mono(converted) for converted in self.resampler.resample(None)]
        self.resampler = self.setup = None
        return out

    @staticmethod
    def _mono(frame) -> np.ndarray:
        planes = frame.to_ndarray()  # (channels, n) float32
        return planes[0] if len(planes) == 1 else planes.mean(axis=0, dtype=np.float32)

    def _emit(self, chunks: list[np.ndarray]) -> np.ndarray:
        out = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        self.emitted += len(out)
        return out


def resample(samples: np.ndarray, rate: int, sample_rate: int) -> np.ndarray:
    """Resample float32 mono with libswresample (the same path files take)."""
    if rate == sample_rate:
        return samples
    import av

    resampler, chunks, step = Resampler(sample_rate), [], 1 << 18
    for start in range(0, len(samples), step):
        piece = np.ascontiguousarray(samples[start : start + step], dtype=np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
        frame.sample_rate = rate
        chunks.append(resampler.push(frame))
    chunks.append(resampler.flush())
    return np.concatenate(chunks)
