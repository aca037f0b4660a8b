"""Augmented training copies (``noise``, ``gain``, ``speed90``, ``speed110``): their names and
how they are made.

NumPy and SciPy are imported inside the functions, so that the command line can offer the
names in ``--help`` without loading them.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: speed perturbation factors by name (Kaldi's 0.9 / 1.1 recipe): the clip is resampled, so
#: tempo and pitch move together, as with a shorter or longer vocal tract
SPEED_FACTORS = {"speed90": 0.9, "speed110": 1.1}
#: every kind of copy, ``clean`` (the recording as it is) first
AUGMENTATIONS = ("clean", "noise", "gain", *SPEED_FACTORS)
#: the kinds a training command can add to the clean clips
COPIES = AUGMENTATIONS[1:]


def speed_perturb(samples: "np.ndarray", factor: float) -> "np.ndarray":
    """Play ``samples`` ``factor`` times as fast (polyphase resampling; pitch moves too).

    >>> import numpy as np
    >>> speed_perturb(np.zeros(16000, np.float32), 1.1).shape, speed_perturb(np.zeros(16000, np.float32), 0.9).shape
    ((14546,), (17778,))
    """
    from fractions import Fraction

    import numpy as np
    from scipy.signal import resample_poly

    f = Fraction(factor).limit_denominator(100)
    return resample_poly(np.asarray(samples, dtype=np.float32), f.denominator, f.numerator).astype(np.float32)


def augment_keyed(samples: "np.ndarray", kind: str, key: str) -> "np.ndarray":
    """:func:`augment_samples` with a generator seeded from ``key`` (e.g. the clip's name), so a
    clip's augmented copy is the same in every run and cache."""
    import numpy as np

    seed = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)
    return augment_samples(samples, kind, np.random.default_rng(seed))


def augment_samples(samples: "np.ndarray", kind: str, rng: "np.random.Generator") -> "np.ndarray":
    """Deterministic augmentation for training: ``noise`` (white or smoothed noise at 5-25 dB
    SNR plus a random gain of -12..+6 dB, clipped to [-1, 1]), ``gain`` (gain only), or
    ``speed90`` / ``speed110`` (:func:`speed_perturb` by 0.9 / 1.1; needs SciPy, which the
    ``train`` extra brings)."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float32)
    if kind in SPEED_FACTORS:
        return np.clip(speed_perturb(x, SPEED_FACTORS[kind]), -1.0, 1.0).astype(np.float32)
    if kind == "noise":
        snr = rng.uniform(5.0, 25.0)
        noise = rng.standard_normal(len(x)).astype(np.float32)
        if rng.random() < 0.5:
            noise = np.convolve(noise, np.ones(8, dtype=np.float32) / 8, mode="same")
        p_sig = float(np.mean(x**2)) + 1e-10
        p_noise = float(np.mean(noise**2)) + 1e-10
        x = x + noise * np.float32(np.sqrt(p_sig / (p_noise * 10 ** (snr / 10))))
    if kind in ("noise", "gain"):
        x = x * np.float32(10 ** (rng.uniform(-12.0, 6.0) / 20))
    elif kind != "clean":
        raise ValueError(f"unknown augmentation {kind!r}; use one of {', '.join(AUGMENTATIONS)}")
    return np.clip(x, -1.0, 1.0).astype(np.float32)
