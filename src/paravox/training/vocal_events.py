"""``paravox train events``: the two vocal-event models, trained into one model directory.

- ``classifier/``: pooled encoder states of an isolated clip -> tag
  (:mod:`paravox.training.classifier`);
- ``detector/``: per-frame encoder states over fixed chunks -> a probability per tag per
  20-ms frame, trained on realistic mixtures (:mod:`paravox.training.detector`).

:func:`train_default` is the shipped recipe on the data pack, measured on held-out voices and
written with its report and model card; :func:`train_user` trains on a user's labelled clips.

Training is deterministic for a given seed: torch runs single-threaded with deterministic
algorithms, and every random draw comes from seeded generators. Inference never imports this.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from paravox.training.classifier import CLASSIFIER_AUGMENT, CLASSIFIER_LAYERS, fit_classifier
from paravox.training.detector import (
    DETECTOR_LAYER,
    MixtureSet,
    build_mixtures,
    calibrate_thresholds,
    draw_mixture,
    fit_detector,
    mixture_scores,
)
from paravox.training.model_card import carried_section, model_card
from paravox.training.model_files import save_model
from paravox.training.progress import bar, timed
from paravox.training.vocal_cache import cached, file_digest, pooled_for_clips, recipe_text
from paravox.vocal_events.model import EventDetector, VocalizationClassifier

__all__ = ["train_default", "train_user"]


def _train_detector(vocal, speech, tags: list[str], *, n_train: int, n_val: int, n_test: int, seed: int,
                    epochs: int, quiet: bool, log: Callable[[str], None]) -> tuple[EventDetector, dict[str, Any]]:
    """The detector: mixtures of training voices; thresholds on validation mixtures; test on
    held-out voices. Returns the detector and its report section."""
    from paravox.evaluation.events import evaluate_events
    from paravox.training import mixtures as mx

    def bank(held_out: bool):
        v = [c for c in vocal if c.held_out == held_out]
        s = [c for c in speech if c.held_out == held_out]
        with bar(len(v) + len(s), "decoding clips", quiet) as progress:
            return mx.Bank(v, s, progress=lambda: progress.update(1))

    def mixtures(name: str, held_out: bool, n: int, mix_seed: int) -> MixtureSet:
        key = f"nv-mix-{name}-{n}-{mix_seed}-L{DETECTOR_LAYER}-" + file_digest(
            [c.path for c in vocal + speech], extra=recipe_text(mx, draw_mixture, build_mixtures)
        )

        def build():
            b = bank(held_out)
            with bar(n, f"{name} mixtures", quiet) as progress:
                m = build_mixtures(b, tags, n, seed=mix_seed, progress=lambda: progress.update(1))
            return {"m": m}

        return cached(key, build, log)["m"]

    with timed(log, "mixtures"):
        tr = mixtures("train", False, n_train, seed + 1)
        va = mixtures("val", False, n_val, seed + 2)
        te = mixtures("test", True, n_test, seed + 3)
    with timed(log, "detector training"):
        det = fit_detector(tr, epochs=epochs, seed=seed, log=log)
    thresholds = calibrate_thresholds(det, va)
    log("thresholds: " + ", ".join(f"{t} {v:.1f}" for t, v in thresholds.items()))
    scores = mixture_scores(det, te)
    hyps = {str(i): [(e.tag, e.start, e.end) for e in det.events(s)] for i, s in enumerate(scores)}
    refs = {str(i): ev for i, ev in enumerate(te.events)}
    ev_rep = evaluate_events(refs, hyps, canonicalize=False)
    log(f"detector held-out mixtures: event F1 {ev_rep.event.f1:.3f}, segment F1 {ev_rep.segment_counts.f1:.3f}")
    return det, {
        "mixtures": {"train": n_train, "val": n_val, "test": n_test},
        "held_out_event_f1": ev_rep.event.f1,
        "held_out_event_precision": ev_rep.event.precision,
        "held_out_event_recall": ev_rep.event.recall,
        "held_out_segment_f1": ev_rep.segment_counts.f1,
        "per_tag_event_f1": {t: c.f1 for t, c in ev_rep.event_per_class.items()},
        "thresholds": thresholds,
    }


def _train_classifier(vocal, tags: list[str], report: dict[str, Any], *, seed: int, classifier_augment: Sequence[str],
                      quiet: bool, log: Callable[[str], None]) -> VocalizationClassifier:
    """The classifier: train on training voices, calibrate on a slice of them, test on held-out
    voices (``report["classifier"]``)."""
    from paravox.evaluation.classification import evaluate_classification

    X = pooled_for_clips(vocal, CLASSIFIER_LAYERS, quiet=quiet, log=log)
    train_idx = [i for i, c in enumerate(vocal) if not c.held_out]
    test_idx = [i for i, c in enumerate(vocal) if c.held_out]
    speakers = sorted({vocal[i].speaker for i in train_idx})
    rng = np.random.default_rng(seed)
    calib_speakers = set(rng.choice(speakers, size=len(speakers) // 8, replace=False).tolist())
    fit_idx = [i for i in train_idx if vocal[i].speaker not in calib_speakers]
    cal_idx = [i for i in train_idx if vocal[i].speaker in calib_speakers]
    X_aug = [pooled_for_clips(vocal, CLASSIFIER_LAYERS, quiet=quiet, log=log, augment=a) for a in classifier_augment]
    with timed(log, "classifier training"):
        clf = fit_classifier(
            np.concatenate([X[fit_idx]] + [a[fit_idx] for a in X_aug]),
            [vocal[i].tag for i in fit_idx] * (1 + len(X_aug)), tags=tags, seed=seed,
            calibration=(X[cal_idx], [vocal[i].tag for i in cal_idx]),
        )
    probs = clf.predict_features(X[test_idx])
    pred = [tags[j] for j in probs.argmax(axis=1)]
    ref = [vocal[i].tag for i in test_idx]
    rep = evaluate_classification(ref, pred)
    deeply = [k for k, i in enumerate(test_idx) if vocal[i].id.startswith("deeply-")]
    rep_d = evaluate_classification([ref[k] for k in deeply], [pred[k] for k in deeply])
    report["classifier"] = {
        "held_out_all": {"n": len(ref), "uar": rep.uar, "macro_f1": rep.macro_f1, "accuracy": rep.accuracy},
        "held_out_deeply": {"n": len(deeply), "uar": rep_d.uar, "macro_f1": rep_d.macro_f1, "accuracy": rep_d.accuracy},
        "temperature": clf.config["temperature"],
        "augment": list(classifier_augment),
    }
    log(f"classifier held-out: UAR {rep.uar:.3f} (Deeply fold-1 test voices: {rep_d.uar:.3f})")
    return clf


def train_default(
    data_root: str | Path,
    out_dir: str | Path,
    *,
    n_train: int = 1200,
    n_val: int = 250,
    n_test: int = 250,
    seed: int = 0,
    epochs: int = 25,
    classifier_augment: Sequence[str] = CLASSIFIER_AUGMENT,
    keep_detector: str | Path | None = None,
    keep_classifier: str | Path | None = None,
    quiet: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train both shipped models on the data pack and measure them on held-out voices.

    ``classifier_augment``: the classifier also trains on copies of its training clips so
    augmented (e.g. ``("speed90", "speed110")``; default: none). ``keep_detector``: a model directory whose
    detector (and its report section) is reused instead of training one: the classifier alone
    is retrained in minutes; the detector does not depend on it. ``keep_classifier``: the same for
    the classifier (the detector alone is trained).

    Returns the report written to ``out_dir/report.json`` (the model card's figures).
    """
    from paravox.training import mixtures as mx

    t0 = time.perf_counter()
    root = Path(data_root)
    vocal = mx.vocalization_clips(root)
    speech = mx.speech_clips(root)
    tags = sorted({c.tag for c in vocal})
    report: dict[str, Any] = {"seed": seed, "tags": tags, "held_out": mx.HELD_OUT}

    if keep_detector is not None and keep_classifier is not None:
        raise ValueError("keep_detector and keep_classifier together would train nothing")
    card_path = Path(out_dir) / "MODEL_CARD.md"
    old_card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    kept = None
    if keep_detector is not None:  # read before anything is written (it may be out_dir itself)
        kept_dir = Path(keep_detector)
        kept_report = json.loads((kept_dir / "report.json").read_text(encoding="utf-8"))
        card = kept_dir / "MODEL_CARD.md"
        kept = (EventDetector.load(kept_dir / "detector"),
                {**kept_report["detector"], "full_run_seconds": kept_report["detector"].get("full_run_seconds", kept_report.get("seconds"))},
                card.read_text(encoding="utf-8") if card.is_file() else "")
        old_card = kept[2]
    if keep_classifier is not None:  # likewise
        kept_dir = Path(keep_classifier)
        clf = VocalizationClassifier.load(kept_dir / "classifier")
        report["classifier"] = {**json.loads((kept_dir / "report.json").read_text(encoding="utf-8"))["classifier"], "kept": True}
        card = kept_dir / "MODEL_CARD.md"
        old_card = card.read_text(encoding="utf-8") if card.is_file() else ""
        log(f"classifier kept from {keep_classifier}")
    else:
        clf = _train_classifier(vocal, tags, report, seed=seed, classifier_augment=classifier_augment, quiet=quiet, log=log)

    if kept is not None:
        det, report["detector"] = kept[0], kept[1]
        log(f"detector kept from {keep_detector}")
    else:
        det, report["detector"] = _train_detector(vocal, speech, tags, n_train=n_train, n_val=n_val, n_test=n_test,
                                                  seed=seed, epochs=epochs, quiet=quiet, log=log)

    out = Path(out_dir)
    save_model(out / "classifier", clf.config, clf.weights)
    save_model(out / "detector", det.config, det.weights)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    command = f"paravox train events --data {data_root} -o {out_dir} --mixtures {n_train} --epochs {epochs} --seed {seed}"
    if list(classifier_augment) != list(CLASSIFIER_AUGMENT):
        command += " --classifier-augment " + (" ".join(classifier_augment) or "none")
    (out / "MODEL_CARD.md").write_text(model_card(report, command, carried=carried_section(old_card)), encoding="utf-8")
    return report


def _read_manifest(path: str | Path, need_label: bool) -> list[dict[str, Any]]:
    from paravox.evaluation.io import read_jsonl  # parsing and its errors, as for every JSONL input

    path = Path(path)
    rows = []
    for record in read_jsonl(path):
        row, n = record.data, record.line
        if "audio" not in row or (need_label and "label" not in row):
            want = "'audio' and 'label'" if need_label else "'audio'"
            raise ValueError(f"{path}:{n}: each line needs {want}")
        audio = Path(row["audio"])
        row["_path"] = audio if audio.is_absolute() else path.parent / audio
        if not row["_path"].is_file():
            raise ValueError(f"{path}:{n}: audio file {row['_path']} not found")
        rows.append(row)
    return rows


def train_user(
    manifest: str | Path,
    speech: str | Path | None,
    out_dir: str | Path,
    *,
    n_train: int = 1200,
    seed: int = 0,
    epochs: int = 25,
    quiet: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train an events model on a user's labelled clips (and speech for the detector).

    Validation: a fifth of the speakers when rows name a ``speaker`` (speaker-independent),
    else a fifth of the clips. The classifier's temperature and the detector's thresholds
    are fitted there, and the figures reported are measured there.
    """
    from paravox.evaluation.classification import evaluate_classification
    from paravox.evaluation.events import evaluate_events
    from paravox.taxonomy import canonical_tag
    from paravox.training import mixtures as mx

    rows = _read_manifest(manifest, need_label=True)
    labels = [canonical_tag(str(r["label"])) or str(r["label"]) for r in rows]
    tags = sorted(set(labels))
    if len(tags) < 2:
        raise ValueError(f"{manifest}: found only the label {tags[0]!r}; a classifier needs at least two labels")
    rng = np.random.default_rng(seed)
    speakers = [str(r.get("speaker", f"clip-{i}")) for i, r in enumerate(rows)]
    unique = sorted(set(speakers))
    val_speakers = set(rng.choice(unique, size=max(1, len(unique) // 5), replace=False).tolist())
    clips = [mx.Clip(str(r.get("id", i)), r["_path"], t, s, s in val_speakers) for i, (r, t, s) in enumerate(zip(rows, labels, speakers))]
    fit = [i for i, c in enumerate(clips) if not c.held_out]
    val = [i for i, c in enumerate(clips) if c.held_out]
    X = pooled_for_clips(clips, CLASSIFIER_LAYERS, quiet=quiet, log=log)
    clf = fit_classifier(X[fit], [labels[i] for i in fit], tags=tags, seed=seed, calibration=(X[val], [labels[i] for i in val]))
    pred = [tags[j] for j in clf.predict_features(X[val]).argmax(axis=1)]
    rep = evaluate_classification([labels[i] for i in val], pred)
    report: dict[str, Any] = {
        "tags": tags,
        "n_clips": len(rows),
        "validation": "speakers" if any("speaker" in r for r in rows) else "clips",
        "classifier": {"n_val": len(val), "uar": rep.uar, "macro_f1": rep.macro_f1, "accuracy": rep.accuracy},
    }
    log(f"classifier validation: UAR {rep.uar:.3f} on {len(val)} clips")
    out = Path(out_dir)
    save_model(out / "classifier", clf.config, clf.weights)
    if speech is None:
        log("no --speech given: only the classifier was trained (events in recordings need a detector)")
        report["detector"] = None
    else:
        srows = _read_manifest(speech, need_label=False)
        sclips = [mx.Clip(str(r.get("id", i)), r["_path"], None, str(r.get("speaker", i)), i % 5 == 0) for i, r in enumerate(srows)]
        train_bank = mx.Bank([c for c in clips if not c.held_out], [c for c in sclips if not c.held_out] or sclips)
        val_bank = mx.Bank([c for c in clips if c.held_out], [c for c in sclips if c.held_out] or sclips)
        if not train_bank.vocal or not val_bank.vocal:
            raise ValueError(f"{manifest}: no clip with sound in the training or validation part")
        tr = build_mixtures(train_bank, tags, n_train, seed=seed + 1)
        va = build_mixtures(val_bank, tags, max(4, n_train // 5), seed=seed + 2)
        det = fit_detector(tr, epochs=epochs, seed=seed, log=log)
        calibrate_thresholds(det, va)
        scores = mixture_scores(det, va)
        ev = evaluate_events(
            {str(i): e for i, e in enumerate(va.events)},
            {str(i): [(x.tag, x.start, x.end) for x in det.events(s)] for i, s in enumerate(scores)},
            canonicalize=False,
        )
        report["detector"] = {"n_train": n_train, "n_val": len(va.states), "event_f1": ev.event.f1, "segment_f1": ev.segment_counts.f1}
        log(f"detector validation mixtures: event F1 {ev.event.f1:.3f}")
        save_model(out / "detector", det.config, det.weights)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
