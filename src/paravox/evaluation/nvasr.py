"""NV-ASR metrics: Joint CER, Text CER, NV exact-match accuracy, tag precision/recall/F1.

Definitions (docs/metrics.md has worked examples):

* **Joint CER** (MNV-17): corpus-level ``(S + D + I) / N`` over the tokens of
  :mod:`paravox.evaluation.text` with tags kept (each tag one token), where S, D, I are
  summed over utterances and N is the total number of reference tokens.
* **Text CER**: the same with every tag removed from reference and hypothesis.
* **NV exact match** (MNV-17): the share of utterances whose hypothesis tag sequence
  (type, count and order) equals the reference's. An utterance whose reference has no
  tags counts too: it is correct only when the hypothesis has no tags either.
* **Tag precision / recall / F1**: per utterance the reference and hypothesis tags are
  multisets; true positives are ``sum over classes of min(ref count, hyp count)``. Micro
  scores sum TP, hypothesis and reference counts over all utterances and classes;
  per-class scores do the same within a class. ``parent_*`` repeats this after mapping
  each tag to its parent (inhale/exhale/pant -> breath, chuckle -> laugh,
  applaud -> clap, sniffle -> sniff). A ratio whose denominator is 0 is reported as 0.0.
* A rate whose reference token count is 0 (the whole corpus has no reference tokens) is
  undefined and reported as ``None``.
* **Position-aware tag scores** (NVVSpeech Challenge Track 1): F1_micro counting a tag
  only at the right place (2 words in English, 5 characters in Chinese), mNTD, tag-aware
  WER/CER and Track1Score, per language; see :mod:`paravox.evaluation.nvvspeech`. They sit
  under the report's ``nvvspeech`` key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Hashable

import numpy as np

from paravox.evaluation.counts import PRF
from paravox.evaluation.io import check_ids
from paravox.evaluation.nvvspeech import NVVSpeechReport, evaluate_nvvspeech
from paravox.evaluation.text import analyze_text
from paravox.taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "EditCounts",
    "TagScore",
    "UtteranceScore",
    "NVASRReport",
    "edit_counts",
    "tag_scores",
    "evaluate_nvasr",
]


@dataclass(frozen=True)
class EditCounts:
    """Levenshtein alignment counts of one utterance or a whole corpus."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    ref_tokens: int = 0
    hyp_tokens: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def hits(self) -> int:
        return self.ref_tokens - self.substitutions - self.deletions

    @property
    def rate(self) -> float | None:
        """``errors / ref_tokens``; ``None`` when there are no reference tokens."""
        return self.errors / self.ref_tokens if self.ref_tokens else None

    def __add__(self, other: "EditCounts") -> "EditCounts":
        return EditCounts(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.ref_tokens + other.ref_tokens,
            self.hyp_tokens + other.hyp_tokens,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "ref_tokens": self.ref_tokens,
            "hyp_tokens": self.hyp_tokens,
        }


def edit_counts(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> EditCounts:
    """Minimum edit distance between two token sequences, split into S, D and I.

    The total ``S + D + I`` is the Levenshtein distance (unit costs). Among alignments
    with that total, the backtrace from the end prefers a match/substitution, then a
    deletion, then an insertion, so the split is deterministic.
    """
    n, m = len(ref), len(hyp)
    if n == 0 or m == 0:
        return EditCounts(0, n, m, n, m)
    vocab: dict[Hashable, int] = {}
    r = [vocab.setdefault(t, len(vocab)) for t in ref]
    h = [vocab.setdefault(t, len(vocab)) for t in hyp]
    h_arr = np.asarray(h)
    cols = np.arange(m + 1)
    dist = np.empty((n + 1, m + 1), dtype=np.int64)
    dist[0] = cols
    row = np.empty(m + 1, dtype=np.int64)
    for i in range(1, n + 1):
        prev = dist[i - 1]
        row[0] = i
        # deletion (from above) or match/substitution (diagonal)
        np.minimum(prev[1:] + 1, prev[:-1] + (h_arr != r[i - 1]), out=row[1:])
        # insertion (from the left): d[j] = min_k<=j (row[k] + j - k)
        dist[i] = np.minimum.accumulate(row - cols) + cols
    table = dist.tolist()
    i, j = n, m
    subs = dels = ins = 0
    while i > 0 or j > 0:
        if i > 0 and j > 0 and table[i][j] == table[i - 1][j - 1] + (r[i - 1] != h[j - 1]):
            subs += r[i - 1] != h[j - 1]
            i, j = i - 1, j - 1
        elif i > 0 and table[i][j] == table[i - 1][j] + 1:
            dels += 1
            i -= 1
        else:
            ins += 1
            j -= 1
    return EditCounts(subs, dels, ins, n, m)


@dataclass(frozen=True)
class TagScore(PRF):
    """Precision/recall/F1 of one tag class (or of all, micro-averaged)."""

    tp: int
    n_ref: int
    n_hyp: int


    @property
    def support(self) -> int:
        return self.n_ref

    def to_dict(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "support": self.n_ref,
        }


def tag_scores(
    ref_tags: Sequence[Sequence[str]],
    hyp_tags: Sequence[Sequence[str]],
    *,
    mapping: Mapping[str, str] | None = None,
) -> tuple[TagScore, dict[str, TagScore]]:
    """Micro and per-class tag scores over per-utterance tag multisets.

    ``mapping`` folds tags first (e.g. tag -> parent tag); tags not in it stay as they are.
    """
    if len(ref_tags) != len(hyp_tags):
        raise ValueError("ref_tags and hyp_tags must have one entry per utterance")
    tp: Counter[str] = Counter()
    n_ref: Counter[str] = Counter()
    n_hyp: Counter[str] = Counter()
    fold = (lambda t: mapping.get(t, t)) if mapping else (lambda t: t)
    for ref, hyp in zip(ref_tags, hyp_tags):
        rc = Counter(fold(t) for t in ref)
        hc = Counter(fold(t) for t in hyp)
        n_ref.update(rc)
        n_hyp.update(hc)
        tp.update(rc & hc)  # & keeps min counts
    classes = set(n_ref) | set(n_hyp)
    per_class = {c: TagScore(tp[c], n_ref[c], n_hyp[c]) for c in classes}
    micro = TagScore(sum(tp.values()), sum(n_ref.values()), sum(n_hyp.values()))
    return micro, per_class


@dataclass(frozen=True)
class UtteranceScore:
    id: str
    ref_tags: tuple[str, ...]
    hyp_tags: tuple[str, ...]
    joint: EditCounts
    text: EditCounts

    @property
    def exact_match(self) -> bool:
        return self.ref_tags == self.hyp_tags

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ref_tags": list(self.ref_tags),
            "hyp_tags": list(self.hyp_tags),
            "nv_exact_match": self.exact_match,
            "joint": self.joint.to_dict(),
            "text": self.text.to_dict(),
        }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


@dataclass(frozen=True)
class NVASRReport:
    """Corpus-level NV-ASR scores; ``to_dict()`` gives the documented JSON keys."""

    n: int
    joint: EditCounts
    text: EditCounts
    n_exact: int
    n_without_ref_tags: int
    tag: TagScore
    parent_tag: TagScore
    per_class: dict[str, TagScore]
    parent_per_class: dict[str, TagScore]
    unknown_tags: dict[str, dict[str, int]] = field(default_factory=dict)
    utterances: tuple[UtteranceScore, ...] = ()
    nvvspeech: NVVSpeechReport | None = None

    @property
    def joint_cer(self) -> float | None:
        return self.joint.rate

    @property
    def text_cer(self) -> float | None:
        return self.text.rate

    @property
    def nv_exact_match(self) -> float:
        return self.n_exact / self.n

    def to_dict(self, *, per_utterance: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n": self.n,
            "joint_cer": self.joint_cer,
            "text_cer": self.text_cer,
            "joint_errors": self.joint.to_dict(),
            "text_errors": self.text.to_dict(),
            "nv_exact_match": self.nv_exact_match,
            "nv_exact_match_count": self.n_exact,
            "n_without_ref_tags": self.n_without_ref_tags,
            "tag_precision": self.tag.precision,
            "tag_recall": self.tag.recall,
            "tag_f1": self.tag.f1,
            "n_ref_tags": self.tag.n_ref,
            "n_hyp_tags": self.tag.n_hyp,
            "parent_tag_precision": self.parent_tag.precision,
            "parent_tag_recall": self.parent_tag.recall,
            "parent_tag_f1": self.parent_tag.f1,
            "per_class": {c: s.to_dict() for c, s in self.per_class.items()},
            "parent_per_class": {c: s.to_dict() for c, s in self.parent_per_class.items()},
            "unknown_tags": {k: dict(v) for k, v in self.unknown_tags.items()},
        }
        if self.nvvspeech is not None:
            out["position_f1"] = self.nvvspeech.f1_micro
            out["mntd"] = self.nvvspeech.mntd
            out["track1_score"] = self.nvvspeech.track1_score
            out["nvvspeech"] = self.nvvspeech.to_dict()
        if per_utterance:
            out["utterances"] = [u.to_dict() for u in self.utterances]
            if self.nvvspeech is not None:
                for row, pos in zip(out["utterances"], self.nvvspeech.utterances):
                    row["nvvspeech"] = {k: v for k, v in pos.to_dict().items() if k != "id"}
        return out

    def format_table(self) -> str:
        j, t = self.joint, self.text
        lines = [
            f"NV-ASR evaluation: {self.n} utterances "
            f"({self.n_without_ref_tags} without reference tags)",
            f"  Joint CER       {_pct(self.joint_cer):>8}   "
            f"S {j.substitutions}  D {j.deletions}  I {j.insertions}  / {j.ref_tokens} tokens",
            f"  Text CER        {_pct(self.text_cer):>8}   "
            f"S {t.substitutions}  D {t.deletions}  I {t.insertions}  / {t.ref_tokens} tokens",
            f"  NV exact match  {_pct(self.nv_exact_match):>8}   {self.n_exact}/{self.n}",
            f"  Tag P / R / F1  {_pct(self.tag.precision)} / {_pct(self.tag.recall)} / "
            f"{_pct(self.tag.f1)}   ({self.tag.n_ref} ref, {self.tag.n_hyp} hyp tags)",
            f"  Parent P/R/F1   {_pct(self.parent_tag.precision)} / "
            f"{_pct(self.parent_tag.recall)} / {_pct(self.parent_tag.f1)}",
        ]
        if self.nvvspeech is not None:
            lines += ["", *self.nvvspeech.format_lines()]
        if self.per_class:
            lines += ["", f"  {'tag':<14}{'support':>8}{'hyp':>6}{'precision':>11}{'recall':>9}{'f1':>9}"]
            for c, s in self.per_class.items():
                lines.append(
                    f"  {c:<14}{s.n_ref:>8}{s.n_hyp:>6}{100 * s.precision:>10.2f}%"
                    f"{100 * s.recall:>8.2f}%{100 * s.f1:>8.2f}%"
                )
        if self.unknown_tags:
            listed = ", ".join(
                f"{label} (ref {c.get('ref', 0)}, hyp {c.get('hyp', 0)})"
                for label, c in self.unknown_tags.items()
            )
            lines += ["", f"  unknown tags (scored as their own class): {listed}"]
        return "\n".join(lines)


def _class_order(classes, tax: Taxonomy) -> list[str]:
    rank = {t: i for i, t in enumerate(tax.tags)}
    return sorted(classes, key=lambda c: (c not in rank, rank.get(c, 0), c))


def evaluate_nvasr(
    refs: Mapping[str, str],
    hyps: Mapping[str, str],
    *,
    source: str | None = None,
    hyp_source: str | None = None,
    taxonomy: Taxonomy | None = None,
    languages: Mapping[str, str | None] | str | None = None,
    position_aware: bool = True,
) -> NVASRReport:
    """Score NV-tagged transcripts: ``refs`` and ``hyps`` map the same ids to texts.

    Tags may be written in any style :mod:`paravox.taxonomy` reads; ``source`` names the
    alias table for the references (and, unless ``hyp_source`` is given, the hypotheses).
    ``languages`` (one code, or a code per id; default: decided from each reference text)
    chooses words or characters for the position-aware scores (``nvvspeech``), which
    ``position_aware=False`` leaves out.
    Raises :class:`~paravox.evaluation.io.IdMismatchError` when the ids differ and
    ``ValueError`` when there is nothing to score.
    """
    check_ids(refs, hyps)
    if not refs:
        raise ValueError("no utterances to evaluate")
    tax = taxonomy or load_taxonomy()
    hyp_source = source if hyp_source is None else hyp_source
    joint = text = EditCounts()
    utterances = []
    unknown: dict[str, Counter[str]] = {}
    for key, ref_text in refs.items():
        ref = analyze_text(ref_text, source, taxonomy=tax)
        hyp = analyze_text(hyps[key], hyp_source, taxonomy=tax)
        for side, result in (("ref", ref), ("hyp", hyp)):
            for label in result.unknown_tags:
                unknown.setdefault(label, Counter())[side] += 1
        u = UtteranceScore(
            key,
            ref.tags,
            hyp.tags,
            edit_counts(ref.joint_tokens, hyp.joint_tokens),
            edit_counts(ref.text_tokens, hyp.text_tokens),
        )
        joint += u.joint
        text += u.text
        utterances.append(u)
    ref_seqs = [u.ref_tags for u in utterances]
    hyp_seqs = [u.hyp_tags for u in utterances]
    micro, per_class = tag_scores(ref_seqs, hyp_seqs)
    parents = {t: tax.parent_of(t) for t in tax.tags}
    p_micro, p_per_class = tag_scores(ref_seqs, hyp_seqs, mapping=parents)
    return NVASRReport(
        n=len(utterances),
        joint=joint,
        text=text,
        n_exact=sum(u.exact_match for u in utterances),
        n_without_ref_tags=sum(not u.ref_tags for u in utterances),
        tag=micro,
        parent_tag=p_micro,
        per_class={c: per_class[c] for c in _class_order(per_class, tax)},
        parent_per_class={c: p_per_class[c] for c in _class_order(p_per_class, tax)},
        unknown_tags={
            k: {"ref": v["ref"], "hyp": v["hyp"]} for k, v in sorted(unknown.items())
        },
        utterances=tuple(utterances),
        nvvspeech=evaluate_nvvspeech(
            refs, hyps, languages=languages, source=source, hyp_source=hyp_source, taxonomy=tax
        ) if position_aware else None,
    )
