"""Distilling the tiny emotion model (``paravox.training.emotion_tiny``, needs torch): the
augmented copies (``TinyOptions.copies``) are read one variant per clip and epoch, leave the
clean recipe untouched draw for draw, and are made from the very audio the teacher's cached
features were computed on. Small synthetic networks, a few seconds."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from conftest import clip  # noqa: E402
from paravox.speech_emotion.tiny import FrontEnd  # noqa: E402
from paravox.training.emotion_tiny import (  # noqa: E402
    TinyOptions,
    _epoch_order,
    _mel_cache_path,
    _variants,
    clip_mels,
    train_student,
)

SMALL = dict(epochs=2, batch=8, stem=16, width=16, hidden=8)


def _data(n: int = 24, n_lab: int = 18, seed: int = 0):
    rng = np.random.default_rng(seed)
    mels = [rng.standard_normal((64, int(rng.integers(150, 300)))).astype(np.float32) for _ in range(n)]
    probs = rng.dirichlet(np.ones(9), n).astype(np.float32)
    labelled = np.arange(n) < n_lab
    return mels, probs, labelled


def test_clean_recipe_unchanged_by_an_all_clean_variant_array():
    mels, probs, labelled = _data()
    a = train_student(mels, probs, None, labelled, TinyOptions(**SMALL))
    b = train_student(mels, probs, None, labelled, TinyOptions(**SMALL),
                      unit=np.arange(len(mels)), variant=np.zeros(len(mels), dtype=np.int64))
    assert a.losses == b.losses
    assert a.options.copies == ()  # no copies given: the options say so, whatever was asked


def test_each_epoch_reads_every_labelled_clip_once_as_one_variant():
    # clips 0-5 labelled; clip 2 has two windows per variant; variants 0 (clean), 1, 2
    unit, variant = [], []
    for u in range(6):
        for v in range(3):
            k = 2 if u == 2 else 1
            unit += [u] * k
            variant += [v] * k
    unit += [6, 7]  # unlabelled, clean only
    variant += [0, 0]
    unit, variant = np.array(unit), np.array(variant)
    lab = np.flatnonzero(unit < 6)
    unl = np.flatnonzero(unit >= 6)
    choices = _variants(lab, unit, variant)
    assert len(choices) == 6 and all(len(c) == 3 for c in choices)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(30):
        order = _epoch_order(lab, choices, unl, 1, rng)
        labelled = [j for j in order if unit[j] < 6]
        by_clip = {}
        for j in labelled:
            by_clip.setdefault(int(unit[j]), set()).add(int(variant[j]))
        assert sorted(by_clip) == list(range(6))  # every clip, once
        assert all(len(v) == 1 for v in by_clip.values())  # as one variant
        assert sum(unit[j] == 2 for j in labelled) == 2  # with all its windows
        assert sum(unit[j] >= 6 for j in order) == 1
        seen |= {(u, next(iter(v))) for u, v in by_clip.items()}
    assert len(seen) == 18  # every variant of every clip drawn at some point


def test_copies_change_what_the_student_learns():
    mels, probs, labelled = _data()
    n = len(mels)
    lab = np.flatnonzero(labelled)
    copies = [m[:, ::-1].copy() for m in (mels[j] for j in lab)]  # a different "copy" of each labelled clip
    all_mels = mels + copies
    unit = np.concatenate([np.arange(n), lab])
    variant = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(len(lab), dtype=np.int64)])
    all_probs = np.vstack([probs, probs[lab][::-1]])
    all_lab = np.concatenate([labelled, np.ones(len(lab), dtype=bool)])
    o = TinyOptions(**SMALL, copies=("noise",))
    a = train_student(all_mels, all_probs, None, all_lab, o, unit=unit, variant=variant)
    b = train_student(all_mels, all_probs, None, all_lab, o, unit=unit, variant=variant)
    clean = train_student(mels, probs, None, labelled, TinyOptions(**SMALL))
    assert a.losses == b.losses  # deterministic
    assert a.losses != clean.losses
    with pytest.raises(ValueError, match="variant needs unit"):
        train_student(all_mels, all_probs, None, all_lab, o, variant=variant)


def test_copy_mels_are_made_from_the_teachers_copy():
    path, _ = clip("emotion/ravdess", "ravdess-03-01-05-02-01-01-01")
    from paravox.audio import load_audio
    from paravox.speech_emotion.tiny import log_mel
    from paravox.training.feature_cache import augmented_copy

    (clean,), _ = clip_mels([str(path)], cache=False)
    (slow,), _ = clip_mels([str(path)], cache=False, augment="speed90")
    (noisy,), _ = clip_mels([str(path)], cache=False, augment="noise")
    assert slow.shape[1] == pytest.approx(clean.shape[1] / 0.9, abs=2)
    expected = log_mel(augmented_copy(load_audio(path).samples, str(path), "noise"))
    np.testing.assert_allclose(noisy, expected)
    assert not np.allclose(noisy, clean)
    fe = FrontEnd()
    stores = {_mel_cache_path([str(path)], fe, 5.0, a) for a in ("clean", "noise", "speed90")}
    assert len(stores) == 3  # a copy never reads the clean recording's cached frames
    import hashlib
    import json
    import os

    h = hashlib.sha1(json.dumps([fe.to_dict(), 5.0, 1], sort_keys=True).encode())
    st = os.stat(path)
    h.update(f"{os.path.abspath(path)}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    assert _mel_cache_path([str(path)], fe, 5.0).name == f"tiny-mel-{h.hexdigest()[:16]}.npz"  # old caches still read
