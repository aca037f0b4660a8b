"""How the Whisper encoder frames audio, defined once for every model that reads its states.

16-kHz samples -> log-mel frames every 10 ms (:data:`MEL_HOP` samples) -> encoder states
every 20 ms (:data:`STATE_SECONDS`; the second convolution has stride 2). An input shorter
than :data:`MIN_SAMPLES` (40 ms) is padded to give two states, the least that pools to a
mean and a standard deviation.

>>> STATES_PER_SECOND, MIN_SAMPLES
(50, 640)
>>> [len(w) for w in windows(np.zeros(25 * SAMPLE_RATE, np.float32), 10.0)]
[133333, 133333, 133334]
"""

from __future__ import annotations

import numpy as np

from paravox.audio import SAMPLE_RATE

__all__ = ["SAMPLE_RATE", "MEL_HOP", "STATE_SECONDS", "STATES_PER_SECOND", "STATE_HOP", "MIN_SAMPLES", "windows"]

MEL_HOP = 160  #: samples per log-mel frame (10 ms)
STATE_HOP = 2 * MEL_HOP  #: samples per encoder state (20 ms)
STATE_SECONDS = STATE_HOP / SAMPLE_RATE  #: seconds per encoder state
STATES_PER_SECOND = SAMPLE_RATE // STATE_HOP
MIN_SAMPLES = 2 * STATE_HOP  #: 40 ms: two encoder states


def windows(samples: np.ndarray, window_seconds: float) -> list[np.ndarray]:
    """Cut ``samples`` into near-equal pieces of at most ``window_seconds``."""
    n = len(samples)
    size = int(window_seconds * SAMPLE_RATE)
    if n <= size:
        return [samples]
    k = int(np.ceil(n / size))
    edges = np.linspace(0, n, k + 1).astype(int)
    return [samples[a:b] for a, b in zip(edges[:-1], edges[1:])]
