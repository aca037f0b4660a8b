"""The isolated-vocalization classifier behind ``paravox classify`` (training side: needs torch).

``paravox classify`` names one vocalization that was recorded on its own. The events model's
``classifier/`` names the detector's regions inside speech, and is trained for that: with
EmoGator bursts as well. On isolated clips that costs it accuracy
(docs/benchmarks.md), so the shipped events model also holds ``isolated/``: a classifier trained
on isolated clips alone, whose recipe (augmented copies, how many MLPs it averages) is chosen
by speaker-grouped cross-validation on the training speakers only.

- :class:`ClipSet`: a labelled clip set with its pooled features; fits and scores recipes.
  ``paravox bench classify`` (:func:`paravox.bench.vocal_events.bench_classify`) runs it per fold.
  With negatives (:mod:`paravox.training.negatives`: speech crops and generated noise) it
  also holds a reject class, ``none`` ("no vocalization"), trained and scored like the tags.
- :func:`train_isolated`: choose a recipe on all of a clip set's speakers, fit it on all of
  them, calibrate its temperature on out-of-fold predictions, write the model directory
  with a report and model card (``paravox train isolated``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from paravox.training import classifier, vocal_cache
from paravox.training.clips import clip_label, extra_label, manifest_rows
from paravox.training.mixtures import Clip
from paravox.training.model_files import save_model
from paravox.training.negatives import NONE, Negative, NegativeSpec, draw_negatives
from paravox.training.progress import bar

__all__ = ["Recipe", "augment_sets", "recipes", "ClipSet", "load_clip_set", "train_isolated", "AUGMENT_CANDIDATES"]

#: how the model card describes a classifier's framing (``short`` needs no note)
FRAMING_NOTES = {
    "padded_fast": "as at the start of a zero-padded 30-s window, approximated at about 1.4 times the encoder cost "
                   "of a short clip",
}

#: Augmentation sets compared by inner cross-validation when none are named.
AUGMENT_CANDIDATES: tuple[tuple[str, ...], ...] = ((), ("speed90", "speed110"), ("speed90", "speed110", "noise"))


class Recipe(NamedTuple):
    """How a classifier is trained: copies of each training clip, and MLPs averaged."""

    augment: tuple[str, ...]
    members: int

    def name(self, show_members: bool = True) -> str:
        text = "+".join(self.augment) or "none"
        return text + (f" x{self.members}" if show_members else "")


def augment_sets(select_augment: bool | Sequence[Sequence[str]], augment: Sequence[str]) -> list[list[str]]:
    """The augmentation sets to choose among: :data:`AUGMENT_CANDIDATES` for ``True``, the sets
    given, or (``False``) the one fixed set ``augment``."""
    if select_augment is True:
        return [list(c) for c in AUGMENT_CANDIDATES]
    return [list(c) for c in select_augment] if select_augment else [list(augment)]


def recipes(augment_sets: Sequence[Sequence[str]], members: Sequence[int]) -> list[Recipe]:
    """Every pairing of an augmentation set with a member count ('none'/'clean' mean no copies)."""
    members = sorted({int(m) for m in members})
    if not members or members[0] < 1:
        raise ValueError(f"members {members}: give whole numbers of 1 or more")
    sets = [tuple(a for a in s if a not in ("clean", "none")) for s in augment_sets]
    return [Recipe(s, m) for s in sets for m in members]


@dataclass
class ClipSet:
    """Labelled clips (``speaker`` set), their pooled features, and copies' features.

    ``extra``: clips that join every training part and are never scored (e.g. EmoGator).
    ``negatives``: the clips tagged :data:`~paravox.training.negatives.NONE` (the last of
    :attr:`tags`, the classifier's reject class), in ``clips`` order after the vocalizations.
    """

    clips: list[Clip]
    X: np.ndarray
    framing: str
    seed: int = 0
    aug: dict[str, np.ndarray] = field(default_factory=dict)
    extra: list[Clip] = field(default_factory=list)
    Xe: np.ndarray | None = None
    negatives: list[Negative] = field(default_factory=list)
    negative_spec: NegativeSpec | None = None

    @cached_property
    def tags(self) -> list[str]:  # asked for per fit and per scoring: computed once
        tags = {c.tag for c in self.clips} | {c.tag for c in self.extra}
        return sorted(tags - {NONE}) + ([NONE] if NONE in tags else [])

    @property
    def reject(self) -> str | None:
        return NONE if NONE in self.tags else None

    def labels(self, rows: Sequence[int]) -> list[str]:
        return [self.clips[i].tag for i in rows]

    def fit(self, rows: Sequence[int], recipe: Recipe, calibration=None) -> Any:
        """A classifier of ``recipe`` on clips ``rows``, their copies and the extra clips."""
        rows = list(rows)
        Xtr = np.concatenate([self.X[rows]] + [self.aug[a][rows] for a in recipe.augment])
        ytr = self.labels(rows) * (1 + len(recipe.augment))
        if self.Xe is not None:
            Xtr = np.concatenate([Xtr, self.Xe])
            ytr = ytr + [c.tag for c in self.extra]
        return classifier.fit_classifier(Xtr, ytr, tags=self.tags, seed=self.seed, framing=self.framing,
                                    members=recipe.members, calibration=calibration, reject=self.reject)

    def probabilities(self, clf, rows: Sequence[int], known: Sequence[str]) -> np.ndarray:
        """``(len(rows), len(known))``: probabilities over ``known`` labels only (renormalised);
        ``none`` is one of them where the set has negatives, as in ``paravox classify``."""
        cols = [self.tags.index(t) for t in known]
        p = clf.label_probabilities(self.X[list(rows)])[:, cols]
        return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)

    def score(self, probs: np.ndarray, rows: Sequence[int], known: Sequence[str]):
        """(predicted tags, classification report) of ``probs`` against the clips' tags."""
        from paravox.evaluation.classification import evaluate_classification

        pred = [known[j] for j in probs.argmax(axis=1)]
        return pred, evaluate_classification(self.labels(rows), pred)

    def select(self, rows: Sequence[int], candidates: Sequence[Recipe], known: Sequence[str],
               *, always: bool = False, progress: Callable[[], Any] | None = None,
               ) -> tuple[Recipe, dict[Recipe, float], np.ndarray | None]:
        """The candidate with the best UAR in speaker-grouped 3-fold CV inside ``rows``.

        Returns (chosen, mean inner UAR per candidate, the chosen one's out-of-fold
        probabilities in ``rows`` order). With one candidate and not ``always`` nothing is
        fitted: ``(it, {}, None)``. ``progress`` is called after each fit (``3 * len(candidates)``).
        """
        from paravox.training.speech_emotion import group_folds

        rows = list(rows)
        if len(candidates) == 1 and not always:
            return candidates[0], {}, None
        parts = group_folds([self.clips[i].speaker for i in rows], 3, self.seed)
        inner: dict[Recipe, float] = {}
        oof: dict[Recipe, np.ndarray] = {}
        for cand in candidates:
            probs = np.zeros((len(rows), len(known)))
            scores = []
            for val in parts:
                fit_rows = [rows[j] for j in np.setdiff1d(np.arange(len(rows)), val)]
                val_rows = [rows[j] for j in val]
                probs[val] = self.probabilities(self.fit(fit_rows, cand), val_rows, known)
                scores.append(self.score(probs[val], val_rows, known)[1].uar)
                if progress:
                    progress()
            inner[cand] = float(np.mean(scores))
            oof[cand] = probs
        chosen = max(candidates, key=lambda c: inner[c])  # first of equals: the cheaper, as listed
        return chosen, inner, oof[chosen]


def load_clip_set(data: str | Path, *, framing: str, kinds: Sequence[str] = (), extra: Sequence[str | Path] = (),
                  seed: int = 0, quiet: bool = True, negatives: NegativeSpec | None = None, backbone=None) -> ClipSet:
    """``data/manifest.jsonl`` (audio, tag or label, speaker) with pooled features (cached);
    ``kinds``: augmentations whose copies are featured too; ``extra``: more training-only clip manifests;
    ``negatives``: the ``none`` clips to draw (:func:`paravox.training.negatives.draw_negatives`),
    appended to the clips with their copies; ``backbone``: a hub backbone's features instead of
    paravox's own (:class:`paravox.vocal_events.backbone.Backbone`)."""

    data = Path(data)
    manifest = data / "manifest.jsonl"
    if not manifest.is_file():
        raise ValueError(f"{data}: no manifest.jsonl (one JSON line per clip: audio, tag or label, speaker)")
    rows = manifest_rows(manifest)
    for n, r in enumerate(rows, 1):
        if "audio" not in r:
            raise ValueError(f"{manifest}: entry {n} has no 'audio'; each line needs 'audio', 'tag' or 'label', and 'speaker'")
        r.setdefault("id", r["audio"])
        if not (data / r["audio"]).is_file():
            raise ValueError(f"{manifest}: entry {n}: audio file {data / r['audio']} not found (paths are relative to {data})")
    clips = [Clip(r["id"], data / r["audio"], clip_label(r), str(r.get("speaker", r["id"])), False) for r in rows]
    if NONE in {c.tag for c in clips}:
        raise ValueError(f"{manifest}: {NONE!r} is the reject class, drawn with --negatives; it cannot be a clip's tag")
    negs = draw_negatives(negatives) if negatives else []
    extra_clips: list[Clip] = []
    for path in extra:
        path = Path(path)
        for r in manifest_rows(path):
            label = extra_label(r)
            if label:
                extra_clips.append(Clip(r["id"], path.parent / r["audio"], label, str(r.get("speaker", "")), False))

    def pooled(items: list[Clip], augment: str = "clean") -> np.ndarray:
        X = vocal_cache.pooled_for_clips(items, classifier.CLASSIFIER_LAYERS, quiet=quiet, log=lambda m: None, augment=augment,
                                         framing=framing, backbone=backbone)
        if items is clips and negs:  # the negatives, made in code, after the clips
            X = np.concatenate([X, vocal_cache.pooled_for_negatives(negs, classifier.CLASSIFIER_LAYERS, quiet=quiet,
                                                                    log=lambda m: None, augment=augment, framing=framing,
                                                                    backbone=backbone)])
        return X

    X = pooled(clips)
    aug = {a: pooled(clips, a) for a in sorted(set(kinds))}
    neg_clips = [Clip(n.id, Path(n.sources()[0] if n.sources() else n.id), NONE, n.group, False)  # path: for messages only
                 for n in negs]
    return ClipSet(clips + neg_clips, X, framing, seed, aug=aug, extra=extra_clips, Xe=pooled(extra_clips) if extra_clips else None,
                   negatives=negs, negative_spec=negatives)


def train_isolated(
    data: str | Path,
    out_dir: str | Path,
    *,
    augment_sets: Sequence[Sequence[str]] = ((),),
    members: Sequence[int] = (1,),
    framing: str = "padded_fast",
    seed: int = 0,
    bench_report: str | Path | None = None,
    negatives: NegativeSpec | None = None,
    backbone: str | None = None,
    quiet: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train ``out_dir`` (config.json, weights.npz, report.json, MODEL_CARD.md): a classifier of
    isolated vocalizations on every clip of ``data``; with ``negatives``, also of ``none``
    (its reject class: speech crops and generated noise, :mod:`paravox.training.negatives`).

    The recipe is chosen among ``augment_sets`` x ``members`` by speaker-grouped 3-fold CV
    over all of ``data``'s speakers; the temperature is fitted on the chosen recipe's
    out-of-fold probabilities there. Those CV figures are on the training speakers (the
    choice was made on them): the held-out figure of the recipe is ``paravox bench
    classify`` with the same options, whose JSON (``-o``) ``bench_report`` carries into the
    report and model card after checking that it measured this recipe.

    ``backbone``: a hub backbone's name (``voc2vec``): the head reads its pooled features
    (:mod:`paravox.vocal_events.backbone`) instead of paravox's own; ``framing`` must then be
    ``short`` (the clip as it is) and the config records the backbone. Its held-out figure is
    ``paravox bench classify --backends ... --backend-model`` on clips it was not trained on
    (the per-fold benchmark and ``bench_report`` measure paravox's own features only).
    """
    t0 = time.perf_counter()
    if backbone is not None and (framing != "short" or bench_report):
        raise ValueError(f"--backbone {backbone} reads each clip as it is (no --framing) and takes no --bench-report "
                         "(the per-fold benchmark measures paravox's own features); measure the head with "
                         f"'paravox bench classify --data HELD_OUT --backends paravox,{backbone} --backend-model {backbone}=DIR'")
    candidates = recipes(augment_sets, members)
    bench = _check_bench(bench_report, data, candidates, framing, seed, negatives) if bench_report else None
    kinds = sorted({a for c in candidates for a in c.augment})
    bb = None
    if backbone is not None:
        from paravox.vocal_events.backbone import for_training

        bb = for_training(backbone)
    log(f"features: {data} ({f'{backbone} backbone' if bb else f'{framing} framing'}"
        f"{', copies: ' + ', '.join(kinds) if kinds else ''}"
        f"{'; negatives: ' + negatives.describe() if negatives else ''})")
    cs = load_clip_set(data, framing=framing, kinds=kinds, seed=seed, quiet=quiet, negatives=negatives, backbone=bb)
    rows = list(range(len(cs.clips)))
    tags = cs.tags
    vocal = [c for c in cs.clips if c.tag != NONE]
    n_speakers = len({c.speaker for c in vocal})
    n_tags = len([t for t in tags if t != NONE])
    if n_tags < 2 or n_speakers < 2:
        raise ValueError(f"{data}: {len(vocal)} clips, {n_tags} tags, {n_speakers} "
                         "speakers; training needs two tags or more and clips from two speakers or more (the recipe "
                         "is chosen on speakers held out)")
    log(f"choosing among {', '.join(c.name() for c in candidates)} by speaker-grouped 3-fold CV "
        f"({len(vocal)} clips, {n_speakers} speakers" + (f", {len(cs.negatives)} negatives" if cs.negatives else "") + ")")
    with bar(3 * len(candidates), "recipe choice: fits", quiet) as fits:
        chosen, inner, oof = cs.select(rows, candidates, tags, always=True, progress=lambda: fits.update(1))
    pred, rep = cs.score(oof, rows, tags)
    temperature = classifier.fit_temperature(np.log(np.maximum(oof, 1e-12)), np.array([tags.index(t) for t in cs.labels(rows)]))
    log(f"chose {chosen.name()} (CV UAR {inner[chosen]:.3f}); temperature {temperature:.2f}; fitting on all clips")
    clf = cs.fit(rows, chosen)
    clf.config["temperature"] = temperature
    if bb is not None:
        clf.config.update(layers=list(bb.layers), backbone=bb.spec())
    out = Path(out_dir)
    save_model(out, clf.config, clf.weights)
    report = {
        "data": str(data),
        "n": len(vocal),
        "speakers": n_speakers,
        "tags": [t for t in tags if t != NONE],
        **({"reject": NONE, "negatives": {**negatives.to_dict(), "n": len(cs.negatives),
                                          "by_source": _counts(n.source for n in cs.negatives)}} if negatives else {}),
        "framing": framing,
        **({"backbone": bb.spec()} if bb else {}),
        "seed": seed,
        "candidates": [c.name() for c in candidates],
        "augment_sets": [list(s) for s in _sets(candidates)],
        "members_candidates": sorted({c.members for c in candidates}),
        "cv_uar": {c.name(): round(v, 4) for c, v in inner.items()},
        "chosen": {"augment": list(chosen.augment), "members": chosen.members},
        "cv_chosen": ({"uar": rep.uar, "macro_f1": rep.macro_f1, "accuracy": rep.accuracy} if not negatives
                      else reject_figures(cs.labels(rows), pred)),
        "temperature": temperature,
        "seconds": round(time.perf_counter() - t0, 1),
        "command": _command("train isolated", data, candidates, framing, seed,
                            f"-o {out_dir}" + (f" --bench-report {bench_report}" if bench_report else ""), negatives,
                            backbone),
        "bench_command": (_command("bench classify", data, candidates, framing, seed, f"-o {bench_report or 'bench.json'}",
                                   negatives) if bb is None else
                          f"paravox bench classify --data HELD_OUT --backends paravox,{backbone} "
                          f"--backend-model {backbone}={out_dir}"),
    }
    if bench:
        report["bench"] = bench
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "MODEL_CARD.md").write_text(isolated_card(report), encoding="utf-8")
    log(f"wrote {out} in {report['seconds']:.0f} s")
    return report


def reject_figures(ref: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Figures of predictions among which ``none`` is an answer.

    On the vocalizations alone (references other than ``none``): ``uar``, ``macro_f1`` and
    ``accuracy`` over their tags, a vocalization called none counting as wrong, and
    ``false_none``: how many were called none. On the negatives: ``none_recall``, the share
    called none. ``with_none``: UAR, macro-F1 and accuracy over every clip, none a class.

    >>> f = reject_figures(["laugh", "cough", "none", "none"], ["laugh", "none", "none", "cough"])
    >>> f["uar"], f["false_none"], f["none_recall"]
    (0.5, 1, 0.5)
    """
    from paravox.evaluation.classification import evaluate_classification

    vocal = [i for i, t in enumerate(ref) if t != NONE]
    neg = [i for i, t in enumerate(ref) if t == NONE]
    out: dict[str, Any] = {"n": len(vocal), "n_none": len(neg)}
    if vocal:
        rep = evaluate_classification([ref[i] for i in vocal], [pred[i] for i in vocal])
        out.update(uar=rep.uar, macro_f1=rep.macro_f1, accuracy=rep.accuracy)
    out["false_none"] = sum(pred[i] == NONE for i in vocal)
    out["none_recall"] = float(np.mean([pred[i] == NONE for i in neg])) if neg else None
    full = evaluate_classification(list(ref), list(pred))
    out["with_none"] = {"uar": full.uar, "macro_f1": full.macro_f1, "accuracy": full.accuracy}
    return out


def _counts(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def _sets(candidates: Sequence[Recipe]) -> list[tuple[str, ...]]:
    return sorted({c.augment for c in candidates}, key=lambda s: (len(s), s))


def _command(what: str, data, candidates: Sequence[Recipe], framing: str, seed: int, tail: str,
             negatives: NegativeSpec | None = None, backbone: str | None = None) -> str:
    """The ``paravox`` command line (``what``: 'train isolated' or 'bench classify') for these candidates."""
    sets = _sets(candidates)
    text = f"paravox {what} --data {data} " + (f"--backbone {backbone}" if backbone else f"--framing {framing}")
    if len(sets) > 1:
        text += " --select-augment " + " ".join("+".join(s) or "none" for s in sets)
    elif sets[0]:
        text += " --augment " + " ".join(sets[0])
    text += " --members " + " ".join(map(str, sorted({c.members for c in candidates})))
    if negatives:
        text += " --negatives" + "".join(f" {d}" for d in negatives.speech)
        default = NegativeSpec()
        if negatives.per_corpus != default.per_corpus:
            text += f" --speech-negatives {negatives.per_corpus}"
        if negatives.generated != default.generated:
            text += f" --generated-negatives {negatives.generated}"
        if negatives.skip_held_out:
            text += " --negatives-skip-held-out"
    if seed:
        text += f" --seed {seed}"
    return f"{text} {tail}"


def _check_bench(path: str | Path, data, candidates: Sequence[Recipe], framing: str, seed: int,
                 negatives: NegativeSpec | None = None) -> dict[str, Any]:
    """The figures of a ``paravox bench classify -o`` JSON, if it measured this very recipe."""
    try:
        got = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable 'paravox bench classify -o' JSON ({exc})") from None
    want_sets = sorted({tuple(sorted(c.augment)) for c in candidates})
    got_sets = sorted({tuple(sorted(s)) for s in (got.get("augment_candidates") or [got.get("augment") or []])})
    got_members = got.get("members_candidates") or [got.get("members", 1)]
    problems = []
    if Path(str(got.get("data"))).resolve() != Path(data).resolve():
        problems.append(f"it measured {got.get('data')}, not {data}")
    if got.get("framing", "short") != framing:
        problems.append(f"framing {got.get('framing', 'short')}, not {framing}")
    if got_sets != want_sets:
        problems.append(f"augmentation sets {got_sets}, not {want_sets}")
    if sorted(got_members) != sorted({c.members for c in candidates}):
        problems.append(f"members {got_members}, not {sorted({c.members for c in candidates})}")
    if got.get("n_extra"):
        problems.append("it also trained on extra clips")
    if got.get("seed", 0) != seed:
        problems.append(f"seed {got.get('seed', 0)}, not {seed}")
    want_neg = negatives.to_dict() if negatives else None
    got_neg = got.get("negatives")
    got_neg = {**{k: got_neg[k] for k in ("speech", "per_corpus", "generated", "seed")},
               "skip_held_out": bool(got_neg.get("skip_held_out"))} if got_neg else None
    if got_neg != want_neg:
        problems.append(f"negatives {got_neg}, not {want_neg}")
    if problems:
        raise ValueError(f"{path}: that benchmark measured another recipe ({'; '.join(problems)}); rerun "
                         "'paravox bench classify' with the same options and -o")
    keep = ("uar", "macro_f1", "accuracy", "none_recall", "false_none", "n_none", "with_none", "date")
    fold_keep = ("fold", "uar", "members", "augment", "none_recall", "false_none", "n_test", "n_none")
    return {**{k: got[k] for k in keep if k in got}, "folds": [{k: f[k] for k in fold_keep if k in f} for f in got["folds"]],
            "per_class": got.get("per_class", {}), "file": str(path)}


def isolated_card(report: dict[str, Any]) -> str:
    """The model card of an isolated classifier, from its training report."""
    chosen = report["chosen"]
    recipe = Recipe(tuple(chosen["augment"]), chosen["members"])
    neg = report.get("negatives")
    lines = [
        "# paravox isolated-vocalization classifier (`isolated/`)",
        "",
        "What `paravox classify` uses: one vocalization recorded on its own -> one of "
        f"{len(report['tags'])} tags ({', '.join(report['tags'])})"
        + (", or `none`: no vocalization" if neg else "") + ".",
        "",
        (f"- Input: mean+std of Whisper-base encoder layers {', '.join(map(str, classifier.CLASSIFIER_LAYERS))} over the clip, "
         f"{report['framing']} framing"
         + (f" ({FRAMING_NOTES[report['framing']]})" if report["framing"] in FRAMING_NOTES else "") + "."
         if "backbone" not in report else
         f"- Input: the `{report['backbone']['name']}` backbone ({report['backbone']['repo_id']}, commit "
         f"{report['backbone']['commit'][:12]}): {report['backbone']['pooling']} (layers "
         f"{report['backbone']['layers'][0]}-{report['backbone']['layers'][-1]}), the clip as it is. `paravox classify` "
         "runs the backbone with torch and transformers (`pip install 'paravox[transformers]'`)."),
        f"- Head: {recipe.members} one-hidden-layer MLP{'s' if recipe.members > 1 else ''} (256 ReLU units each"
        + (", seeds averaged at the logits: stored as one MLP of "
           f"{256 * recipe.members} units" if recipe.members > 1 else "")
        + f"); softmax with temperature {report['temperature']:.2f}, fitted on out-of-fold predictions.",
        f"- Trained on all {report['n']} clips of `{report['data']}` ({report['speakers']} speakers)"
        + (f", plus {' and '.join(recipe.augment)} copies of each" if recipe.augment else "") + ".",
    ]
    if neg:
        lines += [
            f"- `none` is one more class (the config's `reject`), trained on {neg['n']} negatives: "
            + NegativeSpec(tuple(neg["speech"]), neg["per_corpus"], neg["generated"], neg["seed"],
                           bool(neg.get("skip_held_out"))).describe()
            + f"; drawn with seed {neg['seed']} by `paravox.training.negatives`, each 0.5-30 s long (log-uniform): "
            "speech crops across a speaker's clips joined; white, pink and brown noise at -58 to -6 dBFS, mains hum, "
            "steady tones" + (", with the same copies as the clips" if recipe.augment else "") + ". `paravox classify` "
            "answers `none` when it is the most probable answer, and before the model for input shorter than 0.1 s or "
            "whose loudest 50 ms is below -60 dBFS (score 1.0).",
        ]
    lines += [
        f"- The recipe was chosen among {', '.join(report['candidates'])} (augmented copies x MLPs averaged) by "
        "speaker-grouped 3-fold cross-validation over those speakers"
        + (" and the negatives' speakers (UAR over the tags and none)" if neg else "") + "; UAR there: "
        + ", ".join(f"{k} {100 * v:.1f}%" for k, v in report["cv_uar"].items())
        + ". These figures are on the speakers the choice was made on; the held-out figure is below.",
        "",
        "## Measured on speakers never trained on",
        "",
    ]
    bench = report.get("bench")
    if bench:
        lines += [
            f"The same recipe, chosen the same way inside each fold's training part, tested on the pack's 5 "
            f"speaker-independent folds (`{bench['file']}`, written by the benchmark command below): "
            f"**UAR {100 * bench['uar']:.1f}%**, macro-F1 {100 * bench['macro_f1']:.1f}%, accuracy {100 * bench['accuracy']:.1f}%"
            + (f" over the {len(report['tags'])} tags (a vocalization called none counts as wrong)" if neg else "") + "."
            + (f" Measured {bench['date']}." if bench.get("date") else ""),
            "",
        ]
        if neg and bench.get("none_recall") is not None:
            lines += [
                f"`none`: {100 * bench['none_recall']:.1f}% of {bench['n_none']} negatives (each fold's test part: "
                "speakers of the speech corpora never trained on, and generated sounds) called none; "
                f"{bench['false_none']} of {report['n']} vocalizations called none. UAR over the {len(report['tags'])} tags "
                f"and none: {100 * bench['with_none']['uar']:.1f}%.",
                "",
                "| fold | UAR (tags) | none recall | vocalizations called none | chosen there |",
                "|---|---|---|---|---|",
            ]
            lines += [f"| {f['fold']} | {100 * f['uar']:.1f}% | {100 * f['none_recall']:.1f}% | {f['false_none']} | "
                      f"{Recipe(tuple(f.get('augment', [])), f.get('members', 1)).name()} |" for f in bench["folds"]]
        else:
            lines += ["| fold | UAR | chosen there |", "|---|---|---|"]
            lines += [f"| {f['fold']} | {100 * f['uar']:.1f}% | {Recipe(tuple(f.get('augment', [])), f.get('members', 1)).name()} |"
                      for f in bench["folds"]]
        lines += ["", "| tag | support | recall | F1 |", "|---|---|---|---|"]
        lines += [f"| {t} | {s['support']} | {100 * s['recall']:.1f}% | {100 * s['f1']:.1f}% |"
                  for t, s in sorted(bench["per_class"].items())]
    else:
        lines.append("Not measured with this model directory: run the benchmark below and retrain with `--bench-report`."
                     if "backbone" not in report else
                     "Not measured: run the side-by-side benchmark below on clips from speakers it was not trained on.")
    deeply = Path(report["data"]).parts[-2:] == ("nonverbal", "deeply")
    lines += [
        "",
        "## Data and licence",
        "",
        "- **Deeply Nonverbal Vocalization Dataset** (sample subset in the paravox data pack): CC BY-NC-ND 4.0. "
        "Non-commercial; no derivatives may be *distributed*. Weights trained on it are arguably a derivative: "
        "treat this classifier as **research / non-commercial use only**. Retrain on data you may use for anything else."
        if deeply else f"- `{report['data']}`: the licence of that data applies to these weights.",
    ]
    if neg and neg["speech"]:
        lines.append(f"- Negatives (speech crops) from {', '.join(f'`{d}`' for d in neg['speech'])}: each corpus's own "
                     "terms apply too (the data pack's README gives them: research use only).")
    lines += [
        "",
        "## Reproduce",
        "",
        "```",
        report["bench_command"],
        report["command"],
        "```",
        "",
        f"Deterministic for a given seed (single-threaded torch); it took {report['seconds']:.0f} s here.",
        "",
    ]
    return "\n".join(lines)
