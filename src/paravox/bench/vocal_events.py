"""Benchmarks behind ``paravox bench classify`` and ``paravox bench nvasr``.

- :func:`bench_classify`: voc2vec's protocol on a folded clip set (the data pack's Deeply
  folds are speaker-independent): train the classifier on each fold's training part,
  score its test part, report UAR and macro-F1 per fold, their mean, and per class. With
  negatives, the classifier also learns ``none`` (no vocalization) and the report adds how
  many negatives it called none and how many vocalizations it wrongly called none.
- :func:`bench_nvasr`: transcribe every clip of one or more sets with events inline and score
  the tagged transcripts with the MNV-17 metrics and the NVVSpeech Track 1 ones; real and
  synthetic clips, and every source, are reported apart, with the mean and spread over the
  real sources; tag F1 is also given over the tags the event model can emit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paravox.training.clips import manifest_rows

__all__ = ["bench_classify", "bench_nvasr"]


def bench_classify(
    data: str | Path,
    *,
    folds: str | Path | None = None,
    extra: Sequence[str | Path] = (),
    augment: Sequence[str] | None = None,
    select_augment: bool | Sequence[Sequence[str]] = False,
    framing: str = "short",
    members: Sequence[int] = (1,),
    seed: int = 0,
    jobs: int = 1,
    negatives: Any = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """``augment``: augmentations (e.g. ``speed90``) whose copies of each training clip join
    that fold's training part (default: the shipped classifier's,
    :data:`paravox.training.classifier.CLASSIFIER_AUGMENT`); test clips stay as recorded. ``select_augment`` instead
    chooses, per fold, one of :data:`paravox.training.isolated.AUGMENT_CANDIDATES` (or of the
    augmentation sets given) by speaker-grouped 3-fold cross-validation inside the fold's training
    part (UAR on recorded clips). ``members``: how many MLPs the classifier averages
    (:func:`paravox.training.classifier.fit_classifier`); more than one number -> chosen per fold by
    the same inner cross-validation, jointly with the augmentation. ``framing``: how every clip
    is encoded (:data:`paravox.vocal_events.features.FRAMINGS`). ``jobs``: folds trained side by
    side in that many processes (each fit is single-threaded; results do not change).

    ``negatives``: a :class:`paravox.training.negatives.NegativeSpec` (speech crops, generated
    noise) to train and score a ``none`` class with. Every negative gets a fold by its speaker
    (:func:`paravox.training.negatives.assign_folds`), so a fold's test part holds negatives of
    speakers its training part never heard. Each fold's ``uar``, ``macro_f1`` and ``accuracy``
    are then over the vocalizations' tags, a vocalization called none counting as wrong
    (comparable with a run without negatives); ``none_recall`` is the share of its negatives
    called none, ``false_none`` the count of vocalizations called none, ``with_none`` the
    figures over the tags and none (:func:`paravox.training.isolated.reject_figures`)."""
    import datetime

    from paravox.evaluation.classification import evaluate_classification
    from paravox.training import isolated
    from paravox.training.classifier import CLASSIFIER_AUGMENT
    from paravox.training.negatives import NONE, assign_folds

    data = Path(data)
    folds_path = Path(folds) if folds else data / "folds.json"
    if not folds_path.is_file():
        raise ValueError(f"{folds_path}: no folds file; pass --folds")
    fold_map = json.loads(folds_path.read_text())
    augment = [a for a in (CLASSIFIER_AUGMENT if augment is None else augment) if a not in ("clean", "none")]
    candidates = isolated.recipes(isolated.augment_sets(select_augment, augment), members)
    members = sorted({c.members for c in candidates})
    cs = isolated.load_clip_set(data, framing=framing, kinds=[a for c in candidates for a in c.augment], extra=extra,
                                seed=seed, quiet=quiet, negatives=negatives)
    clips = cs.clips
    by_id = {c.id: i for i, c in enumerate(clips)}
    fold_items = sorted(fold_map.items(), key=lambda kv: str(kv[0]))
    for name, fold in fold_items:
        missing = [i for i in fold["train"] + fold["test"] if i not in by_id]
        if missing:
            raise ValueError(f"{folds_path}: fold {name} names ids not in the manifest: {', '.join(missing[:5])}")
    neg_fold = assign_folds(cs.negatives, [name for name, _ in fold_items], seed)
    show_members = len(members) > 1

    def run_fold(name: str, fold: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str], list[int]]:
        tr = [by_id[i] for i in fold["train"]] + [by_id[i] for i, f in neg_fold.items() if f != name]
        te = [by_id[i] for i in fold["test"]] + [by_id[i] for i, f in neg_fold.items() if f == name]
        present = {clips[i].tag for i in te} | {clips[i].tag for i in tr}
        known = [t for t in cs.tags if t in present]  # the folded set's own classes only (none last)
        chosen, inner, _ = cs.select(tr, candidates, known)
        pred, rep = cs.score(cs.probabilities(cs.fit(tr, chosen), te, known), te, known)
        inner_names = {c.name(show_members): round(v, 4) for c, v in inner.items()}
        row = {"fold": name, "n_train": len(tr), "n_test": len(te), "uar": rep.uar, "macro_f1": rep.macro_f1,
               "accuracy": rep.accuracy, "augment": list(chosen.augment), "members": chosen.members,
               **({"inner_uar": inner_names} if inner else {})}
        if cs.negatives:
            fig = isolated.reject_figures(cs.labels(te), pred)
            row.update(n_test=fig["n"], n_none=fig["n_none"], uar=fig["uar"], macro_f1=fig["macro_f1"],
                       accuracy=fig["accuracy"], none_recall=fig["none_recall"], false_none=fig["false_none"],
                       with_none=fig["with_none"])
        if not quiet:
            print(f"fold {name}: UAR {row['uar']:.3f}"
                  + (f", none recall {row['none_recall']:.3f}, {row['false_none']} called none" if cs.negatives else "")
                  + (f" ({chosen.name(show_members)}; inner UAR {inner_names})" if inner else ""), file=sys.stderr, flush=True)
        return row, cs.labels(te), pred, te

    results = _map_folds(run_fold, fold_items, jobs)
    per_fold = [r[0] for r in results]
    all_ref = [t for r in results for t in r[1]]
    all_pred = [t for r in results for t in r[2]]
    pooled = evaluate_classification(all_ref, all_pred)
    mean = {k: float(np.mean([f[k] for f in per_fold])) for k in ("uar", "macro_f1", "accuracy")}
    n_vocal = len(clips) - len(cs.negatives)
    lines = [
        f"Vocalization classifier, {data.name}: {n_vocal} clips, {len(per_fold)} folds"
        + (f", plus {len(cs.extra)} extra training clips" if cs.extra else "")
        + (f", plus {len(cs.negatives)} negatives for none ({cs.negative_spec.describe()})" if cs.negatives else "")
        + (f", trained also on {' + '.join(augment)} copies" if augment and not select_augment else "")
        + (", augmentation chosen per fold by inner CV" if select_augment else "")
        + (f", {members[0]} MLPs averaged" if len(members) == 1 and members[0] > 1 else "")
        + (f", {' or '.join(map(str, members))} MLPs averaged (chosen per fold by inner CV)" if len(members) > 1 else "")
        + (f", {framing} framing" if framing != "short" else ""),
    ]
    reject: dict[str, Any] = {}
    if not cs.negatives:
        lines += ["", "| fold | train | test | UAR | macro-F1 | accuracy |", "|---|---|---|---|---|---|"]
        lines += [f"| {f['fold']} | {f['n_train']} | {f['n_test']} | {100 * f['uar']:.1f} | {100 * f['macro_f1']:.1f} "
                  f"| {100 * f['accuracy']:.1f} |" for f in per_fold]
        lines.append(f"| **mean** | | | **{100 * mean['uar']:.1f}** | **{100 * mean['macro_f1']:.1f}** | {100 * mean['accuracy']:.1f} |")
    else:
        fig = isolated.reject_figures(all_ref, all_pred)
        by_source: dict[str, list[bool]] = {}
        source = {n.id: n.source for n in cs.negatives}
        for ref, pred, i in zip(all_ref, all_pred, [i for r in results for i in r[3]]):
            if ref == NONE:
                by_source.setdefault(source[clips[i].id], []).append(pred == NONE)
        reject = {"n_none": fig["n_none"], "none_recall": fig["none_recall"], "false_none": fig["false_none"],
                  "none_recall_by_source": {k: float(np.mean(v)) for k, v in sorted(by_source.items())},
                  "with_none": {k: float(np.mean([f["with_none"][k] for f in per_fold])) for k in ("uar", "macro_f1", "accuracy")}}
        lines += ["", "| fold | train | test: vocalizations + negatives | UAR (tags) | macro-F1 | accuracy | none recall "
                  "| vocalizations called none |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {f['fold']} | {f['n_train']} | {f['n_test']} + {f['n_none']} | {100 * f['uar']:.1f} | {100 * f['macro_f1']:.1f} "
                  f"| {100 * f['accuracy']:.1f} | {100 * f['none_recall']:.1f} | {f['false_none']} |" for f in per_fold]
        lines += [
            f"| **mean** | | | **{100 * mean['uar']:.1f}** | **{100 * mean['macro_f1']:.1f}** | {100 * mean['accuracy']:.1f} "
            f"| **{100 * fig['none_recall']:.1f}** (pooled) | **{fig['false_none']}** of {fig['n']} |",
            "",
            f"UAR (tags): over the {len(cs.tags) - 1} tags, a vocalization called none counting as wrong. "
            "none recall by source: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in reject["none_recall_by_source"].items())
            + f". UAR over the tags and none: {100 * reject['with_none']['uar']:.1f}.",
        ]
    lines += ["", "| class | support | recall | F1 |", "|---|---|---|---|"]
    for c, s in sorted(pooled.per_class.items()):
        lines.append(f"| {c} | {s.support} | {100 * s.recall:.1f} | {100 * s.f1:.1f} |")
    return {
        "data": str(data),
        "date": datetime.date.today().isoformat(),
        "n": n_vocal,
        "n_extra": len(cs.extra),
        **({"negatives": {**cs.negative_spec.to_dict(), "n": len(cs.negatives)}} if cs.negatives else {}),
        "augment": "chosen per fold by inner CV" if select_augment else list(augment),
        "augment_candidates": [list(c) for c in dict.fromkeys(c.augment for c in candidates)] if select_augment else None,
        "members": members[0] if len(members) == 1 else "chosen per fold by inner CV",
        "members_candidates": members if len(members) > 1 else None,
        "framing": framing,
        "seed": seed,
        "folds": per_fold,
        "uar": mean["uar"],
        "macro_f1": mean["macro_f1"],
        "accuracy": mean["accuracy"],
        **reject,
        "per_class": {c: s.to_dict() for c, s in pooled.per_class.items()},
        "markdown": "\n".join(lines),
    }


_FOLD_TASK: Any = None  # the fold function a forked worker runs (closures do not pickle)


def _run_task(item: tuple[str, dict[str, Any]]) -> Any:
    return _FOLD_TASK(*item)


def _map_folds(fn, items: list[tuple[str, dict[str, Any]]], jobs: int) -> list[Any]:
    """``fn(name, fold)`` for every fold, in order; ``jobs`` > 1 runs them in forked processes."""
    global _FOLD_TASK
    if jobs <= 1 or len(items) <= 1:
        return [fn(*item) for item in items]
    import multiprocessing

    _FOLD_TASK = fn
    try:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(items))) as pool:
            return pool.map(_run_task, items, chunksize=1)
    finally:
        _FOLD_TASK = None


def bench_nvasr(
    data: str | Path | Sequence[str | Path],
    *,
    events: str | None = "paravox-events",
    events_model: str | None = None,
    language: str | None = None,
    filler_words: bool = False,
    laugh_words: bool = True,
    sound_words: bool = False,
    asr: str = "whisper-base",
    hyp_output: str | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """Tagged transcripts of every clip of one or more NV-tagged sets, scored per group (real,
    synthetic), per source (a manifest row's ``source``, else its folder's name) and, over the
    real sources, their mean and spread: the figures docs/vocal-events-protocol.md asks a model
    change to move, source by source. Tag scores are given as bags (MNV-17) and by position
    (NVVSpeech Track 1: position-aware F1, mNTD, Track1Score)."""
    from paravox.analyzer import Analyzer
    from paravox.options import AnalyzeOptions

    folders = [Path(data)] if isinstance(data, (str, Path)) else [Path(d) for d in data]
    rows = nvasr_rows(folders)
    opts = AnalyzeOptions.from_kwargs(asr=asr, events=events, events_model=events_model, language=language,
                                      filler_words=filler_words, laugh_words=laugh_words, sound_words=sound_words,
                                      emotion=None)
    analyzer = Analyzer(opts)
    covered = covered_tags(analyzer)
    hyps: dict[str, str] = {}
    from tqdm import tqdm

    for row in tqdm(rows, unit="clip", file=sys.stderr, disable=quiet or not sys.stderr.isatty()):
        analysis = analyzer.analyze(row["_audio"], name=row["id"])
        hyps[row["id"]] = analysis.tagged_text()
    if hyp_output:
        from paravox.formats import write_atomic

        write_atomic(hyp_output, "".join(json.dumps({"id": k, "text": v}, ensure_ascii=False) + "\n" for k, v in hyps.items()))
    groups = {
        "real": [r for r in rows if not r.get("synthetic")],
        "synthetic": [r for r in rows if r.get("synthetic")],
    }
    sources = sorted({r["_source"] for r in rows})
    data_names = ", ".join(str(f) for f in folders)
    results: dict[str, Any] = {"data": [str(f) for f in folders], "events": events, "covered_tags": covered,
                               "options": {"filler_words": filler_words, "laugh_words": laugh_words, "sound_words": sound_words},
                               "groups": {}, "sources": {}}
    lines = [f"NV-ASR on {data_names}: transcription + {events or 'no'} events", "", NVASR_HEADER,
             "|" + "---|" * (NVASR_HEADER.count("|") - 1)]

    def score(group: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
        d = nvasr_figures(group, hyps, covered)
        f1c = "n/a" if d["tag_f1_covered"] is None else f"{100 * d['tag_f1_covered']:.1f}"
        line = (f" {d['n']} | {100 * d['joint_cer']:.2f} | {100 * d['text_cer']:.2f} | {100 * d['nv_exact_match']:.1f} "
                f"| {100 * d['tag_precision']:.1f} | {100 * d['tag_recall']:.1f} | {100 * d['tag_f1']:.1f} | {f1c} "
                f"| {100 * d['parent_tag_f1']:.1f} | {100 * d['position_f1']:.1f} | {d['mntd']:.3f} "
                f"| {d['track1_score']:.1f} |")
        return d, line

    for name, group in groups.items():
        if group:
            results["groups"][name], line = score(group)
            lines.append(f"| **{name}** |" + line)
    real_sources = []
    for source in sources:
        group = [r for r in rows if r["_source"] == source]
        results["sources"][source], line = score(group)
        kind = "synthetic" if all(r.get("synthetic") for r in group) else "real"
        results["sources"][source]["kind"] = kind
        if kind == "real":
            real_sources.append(source)
        lines.append(f"| {source} ({kind}) |" + line)
    if real_sources:
        spread = {}
        for key in ("nv_exact_match", "tag_f1", "position_f1", "track1_score", "text_cer"):
            values = [float(results["sources"][s][key]) for s in real_sources]
            spread[key] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "min": min(values), "max": max(values)}
        results["real_sources"] = {"sources": real_sources, **spread}
        lines += ["", f"real sources ({len(real_sources)}), mean ± std [min, max]: " + "; ".join(
            f"{k} {v['mean'] * (1 if k == 'track1_score' else 100):.1f} ± {v['std'] * (1 if k == 'track1_score' else 100):.1f} "
            f"[{v['min'] * (1 if k == 'track1_score' else 100):.1f}, {v['max'] * (1 if k == 'track1_score' else 100):.1f}]"
            for k, v in spread.items())]
    results["markdown"] = "\n".join(lines) + "\n\n" + "\n\n".join(
        f"{name}:\n{g['table']}" for name, g in results["groups"].items()
    )
    return results


NVASR_HEADER = ("| clips | n | Joint CER | text CER | NV exact match | tag P | tag R | tag F1 | tag F1 (covered tags) "
                "| parent tag F1 | position F1 | mNTD | Track1Score |")


def nvasr_rows(folders: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The manifest rows of every NV-tagged set, each with ``_audio`` (its path) and ``_source``
    (its ``source``, else its folder's name); a ValueError when two sets share clip ids."""
    rows: list[dict[str, Any]] = []
    for folder in map(Path, folders):
        for r in manifest_rows(folder / "manifest.jsonl"):
            rows.append({**r, "_audio": str(folder / r["audio"]), "_source": str(r.get("source") or folder.name)})
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError("the sets share clip ids; give sets whose ids differ")
    return rows


def covered_tags(analyzer: Any) -> list[str]:
    """The tags the analyser's event detector can emit ([] for a recogniser that writes its own)."""
    if analyzer.events is not None and hasattr(analyzer.events, "detector"):
        return list(analyzer.events.detector.tags)
    return []


def nvasr_figures(group: Sequence[dict[str, Any]], hyps: dict[str, str], covered: Sequence[str] = ()) -> dict[str, Any]:
    """The MNV-17 and NVVSpeech Track 1 figures of the hypotheses ``hyps`` (``{id: tagged text}``)
    of the rows ``group``: :meth:`NVASRReport.to_dict` plus ``tag_f1_covered`` (tag F1 over the
    ``covered`` tags), ``position_f1``, ``mntd``, ``track1_score`` and the text ``table``."""
    from paravox.evaluation.nvasr import evaluate_nvasr

    refs = {r["id"]: r["text"] for r in group}
    langs = {r["id"]: r.get("language") for r in group}
    rep = evaluate_nvasr(refs, {k: hyps[k] for k in refs}, languages=langs)
    d = rep.to_dict(per_utterance=True)
    cov = [rep.per_class[c] for c in rep.per_class if c in covered]
    tp = sum(s.tp for s in cov)
    denom = sum(s.n_ref + s.n_hyp for s in cov)
    d["tag_f1_covered"] = 2 * tp / denom if denom else None
    nvv = rep.nvvspeech
    d["position_f1"], d["mntd"], d["track1_score"] = nvv.f1_micro, nvv.mntd, nvv.track1_score
    d["table"] = rep.format_table()
    return d
