"""Benchmarks behind ``paravox bench classify`` and ``paravox bench nvasr``.

- :func:`bench_classify`: voc2vec's protocol on a folded clip set (the data pack's Deeply
  folds are speaker-independent): train the classifier on each fold's training part,
  score its test part, report UAR and macro-F1 per fold, their mean, and per class.
- :func:`bench_nvasr`: transcribe every clip with events inline and score the tagged
  transcripts with the MNV-17 metrics; real and synthetic clips are reported apart, and
  tag F1 is also given over the tags the event model can emit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["bench_classify", "bench_nvasr"]


def _rows(manifest: Path) -> list[dict[str, Any]]:
    from paravox.evaluation.io import read_jsonl

    return [record.data for record in read_jsonl(manifest)]


def _clip_label(row: dict[str, Any]) -> str:
    from paravox.taxonomy import canonical_tag

    raw = row.get("tag") or row.get("label")
    if raw is None:
        raise ValueError(f"row {row.get('id')!r} has neither 'tag' nor 'label'")
    return canonical_tag(str(raw)) or str(raw)


#: Augmentation sets compared by inner cross-validation (``select_augment``).
AUGMENT_CANDIDATES: tuple[tuple[str, ...], ...] = ((), ("speed90", "speed110"), ("speed90", "speed110", "noise"))


def bench_classify(
    data: str | Path,
    *,
    folds: str | Path | None = None,
    extra: Sequence[str | Path] = (),
    augment: Sequence[str] | None = None,
    select_augment: bool = False,
    framing: str = "short",
    seed: int = 0,
    quiet: bool = True,
) -> dict[str, Any]:
    """``augment``: augmentations (e.g. ``speed90``) whose copies of each training clip join
    that fold's training part (default: the shipped classifier's,
    :data:`paravox.nonverbal.train.CLASSIFIER_AUGMENT`); test clips stay as recorded. ``select_augment`` instead
    chooses, per fold, one of :data:`AUGMENT_CANDIDATES` by speaker-grouped 3-fold
    cross-validation inside the fold's training part (UAR on recorded clips). ``framing``: how
    every clip is encoded (:data:`paravox.nonverbal.features.FRAMINGS`)."""
    from paravox.evaluation.classification import evaluate_classification
    from paravox.nonverbal import train
    from paravox.nonverbal.mixtures import Clip

    data = Path(data)
    rows = _rows(data / "manifest.jsonl")
    folds_path = Path(folds) if folds else data / "folds.json"
    if not folds_path.is_file():
        raise ValueError(f"{folds_path}: no folds file; pass --folds")
    fold_map = json.loads(folds_path.read_text())
    clips = [Clip(r["id"], data / r["audio"], _clip_label(r), str(r.get("speaker", r["id"])), False) for r in rows]
    by_id = {c.id: i for i, c in enumerate(clips)}
    extra_clips: list = []
    for path in extra:
        path = Path(path)
        for r in _rows(path):
            label = _extra_label(r)
            if label:
                extra_clips.append(Clip(r["id"], path.parent / r["audio"], label, str(r.get("speaker", "")), False))
    X = train.pooled_for_clips(clips, train.CLASSIFIER_LAYERS, quiet=quiet, log=lambda m: None, framing=framing)
    Xe = (train.pooled_for_clips(extra_clips, train.CLASSIFIER_LAYERS, quiet=quiet, log=lambda m: None, framing=framing)
          if extra_clips else None)
    augment = [a for a in (train.CLASSIFIER_AUGMENT if augment is None else augment) if a not in ("clean", "none")]
    candidates = [list(c) for c in AUGMENT_CANDIDATES] if select_augment else [augment]
    kinds = sorted({a for c in candidates for a in c})
    aug_X = {a: train.pooled_for_clips(clips, train.CLASSIFIER_LAYERS, quiet=quiet, log=lambda m: None, augment=a,
                                       framing=framing) for a in kinds}

    def fit(rows: list[int], copies: Sequence[str]):
        """A classifier on clips ``rows``, their ``copies`` and any extra clips."""
        Xtr = np.concatenate([X[rows]] + [aug_X[a][rows] for a in copies])
        ytr = [clips[i].tag for i in rows] * (1 + len(copies))
        if Xe is not None:
            Xtr = np.concatenate([Xtr, Xe])
            ytr = ytr + [c.tag for c in extra_clips]
        return train.fit_classifier(Xtr, ytr, tags=tags, seed=seed, framing=framing)

    def uar(clf, rows: list[int], known: Sequence[str]) -> tuple[float, list[str], Any]:
        """UAR on the recorded clips ``rows``, predicting among ``known`` tags; also the predictions and report."""
        cols = [tags.index(t) for t in known]  # the folded set's own classes only
        probs = clf.predict_features(X[rows])[:, cols]
        pred = [known[j] for j in probs.argmax(axis=1)]
        rep = evaluate_classification([clips[i].tag for i in rows], pred)
        return rep.uar, pred, rep
    tags = sorted({c.tag for c in clips} | {c.tag for c in extra_clips})
    per_fold = []
    all_ref: list[str] = []
    all_pred: list[str] = []
    for name, fold in sorted(fold_map.items(), key=lambda kv: str(kv[0])):
        missing = [i for i in fold["train"] + fold["test"] if i not in by_id]
        if missing:
            raise ValueError(f"{folds_path}: fold {name} names ids not in the manifest: {', '.join(missing[:5])}")
        tr = [by_id[i] for i in fold["train"]]
        te = [by_id[i] for i in fold["test"]]
        test_tags = sorted({clips[i].tag for i in te} | {clips[i].tag for i in tr})
        chosen, inner = candidates[0], {}
        if len(candidates) > 1:
            from paravox.ser.train import group_folds

            parts = group_folds([clips[i].speaker for i in tr], 3, seed)
            for cand in candidates:
                scores = []
                for val in parts:
                    rows = [tr[j] for j in np.setdiff1d(np.arange(len(tr)), val)]
                    scores.append(uar(fit(rows, cand), [tr[j] for j in val], test_tags)[0])
                inner["+".join(cand) or "none"] = round(float(np.mean(scores)), 4)
            chosen = candidates[int(np.argmax(list(inner.values())))]
        _, pred, rep = uar(fit(tr, chosen), te, test_tags)
        ref = [clips[i].tag for i in te]
        per_fold.append({"fold": name, "n_train": len(tr), "n_test": len(te), "uar": rep.uar, "macro_f1": rep.macro_f1,
                         "accuracy": rep.accuracy, "augment": list(chosen), **({"inner_uar": inner} if inner else {})})
        all_ref += ref
        all_pred += pred
        if not quiet:
            print(f"fold {name}: UAR {rep.uar:.3f}" + (f" (augment {'+'.join(chosen) or 'none'}; inner UAR {inner})" if inner else ""),
                  file=sys.stderr)
    pooled = evaluate_classification(all_ref, all_pred)
    mean = {k: float(np.mean([f[k] for f in per_fold])) for k in ("uar", "macro_f1", "accuracy")}
    lines = [
        f"Vocalization classifier, {data.name}: {len(clips)} clips, {len(per_fold)} folds"
        + (f", plus {len(extra_clips)} extra training clips" if extra_clips else "")
        + (f", trained also on {' + '.join(augment)} copies" if augment and not select_augment else "")
        + (", augmentation chosen per fold by inner CV" if select_augment else "")
        + (f", {framing} framing" if framing != "short" else ""),
        "",
        "| fold | train | test | UAR | macro-F1 | accuracy |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {f['fold']} | {f['n_train']} | {f['n_test']} | {100 * f['uar']:.1f} | {100 * f['macro_f1']:.1f} | {100 * f['accuracy']:.1f} |" for f in per_fold]
    lines.append(f"| **mean** | | | **{100 * mean['uar']:.1f}** | **{100 * mean['macro_f1']:.1f}** | {100 * mean['accuracy']:.1f} |")
    lines += ["", "| class | support | recall | F1 |", "|---|---|---|---|"]
    for c, s in sorted(pooled.per_class.items()):
        lines.append(f"| {c} | {s.support} | {100 * s.recall:.1f} | {100 * s.f1:.1f} |")
    return {
        "data": str(data),
        "n": len(clips),
        "n_extra": len(extra_clips),
        "augment": "chosen per fold by inner CV" if select_augment else list(augment),
        "framing": framing,
        "folds": per_fold,
        "uar": mean["uar"],
        "macro_f1": mean["macro_f1"],
        "accuracy": mean["accuracy"],
        "per_class": {c: s.to_dict() for c, s in pooled.per_class.items()},
        "markdown": "\n".join(lines),
    }


def _extra_label(row: dict[str, Any]) -> str | None:
    from paravox.nonverbal.mixtures import EMOGATOR_TAGS

    if "category" in row:  # EmoGator
        return EMOGATOR_TAGS.get(row["category"])
    return _clip_label(row)


def bench_nvasr(
    data: str | Path,
    *,
    events: str | None = "paravox-events",
    events_model: str | None = None,
    language: str | None = None,
    hyp_output: str | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    from paravox.evaluation.nvasr import evaluate_nvasr
    from paravox.pipeline import Analyzer, AnalyzeOptions

    data = Path(data)
    rows = _rows(data / "manifest.jsonl")
    opts = AnalyzeOptions.from_kwargs(events=events, events_model=events_model, language=language)
    analyzer = Analyzer(opts)
    covered: list[str] = []
    if analyzer.events is not None and hasattr(analyzer.events, "detector"):
        covered = list(analyzer.events.detector.tags)
    hyps: dict[str, str] = {}
    from tqdm import tqdm

    for row in tqdm(rows, unit="clip", file=sys.stderr, disable=quiet or not sys.stderr.isatty()):
        analysis = analyzer.analyze(str(data / row["audio"]), name=row["id"])
        hyps[row["id"]] = analysis.tagged_text()
    if hyp_output:
        from paravox.outputs.formats import write_atomic

        write_atomic(hyp_output, "".join(json.dumps({"id": k, "text": v}, ensure_ascii=False) + "\n" for k, v in hyps.items()))
    groups = {
        "real": [r for r in rows if not r.get("synthetic")],
        "synthetic": [r for r in rows if r.get("synthetic")],
    }
    results: dict[str, Any] = {"data": str(data), "events": events, "covered_tags": covered, "groups": {}}
    lines = [
        f"NV-ASR on {data}: transcription + {events or 'no'} events",
        "",
        "| clips | n | Joint CER | text CER | NV exact match | tag P | tag R | tag F1 | tag F1 (covered tags) | parent tag F1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, group in groups.items():
        if not group:
            continue
        refs = {r["id"]: r["text"] for r in group}
        rep = evaluate_nvasr(refs, {k: hyps[k] for k in refs})
        d = rep.to_dict(per_utterance=True)
        cov = [rep.per_class[c] for c in rep.per_class if c in covered]
        tp = sum(s.tp for s in cov)
        denom = sum(s.n_ref + s.n_hyp for s in cov)
        d["tag_f1_covered"] = 2 * tp / denom if denom else None
        results["groups"][name] = d
        f1c = "n/a" if d["tag_f1_covered"] is None else f"{100 * d['tag_f1_covered']:.1f}"
        lines.append(
            f"| {name} | {rep.n} | {100 * rep.joint_cer:.2f} | {100 * rep.text_cer:.2f} | {100 * rep.nv_exact_match:.1f} "
            f"| {100 * rep.tag.precision:.1f} | {100 * rep.tag.recall:.1f} | {100 * rep.tag.f1:.1f} | {f1c} | {100 * rep.parent_tag.f1:.1f} |"
        )
        results["groups"][name]["table"] = rep.format_table()
    results["markdown"] = "\n".join(lines) + "\n\n" + "\n\n".join(
        f"{name}:\n{g['table']}" for name, g in results["groups"].items()
    )
    return results
