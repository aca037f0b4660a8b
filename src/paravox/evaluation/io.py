"""Reading reference/hypothesis files for evaluation and pairing them by utterance id.

Files are JSON Lines (one object per line, UTF-8; ``-`` reads stdin). Field names are
found automatically when not given:

* id: the first of :data:`ID_FIELDS` present in every row of both files (MNV-17's
  ``test.jsonl`` and the JSONL written by its inference script share ``filename``);
  failing that, the first present in every row of each file separately.
* reference text: :data:`REF_TEXT_FIELDS`; hypothesis text: :data:`HYP_TEXT_FIELDS`
  (``prediction`` first, as MNV-17's inference script writes it).
* labels: :data:`REF_LABEL_FIELDS` / :data:`HYP_LABEL_FIELDS`.
* events: ``events``, a list of ``{"tag"|"label"|"event_label", "start"|"onset",
  "end"|"offset"}``; DCASE-style ``.tsv`` files (``filename onset offset event_label``)
  are read too.

Every problem raises :class:`EvaluationInputError` (a ``ValueError``) with the file and
line number; the reference and hypothesis must hold the same ids
(:class:`IdMismatchError` lists the first 10 missing/extra ids and their count).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paravox.errors import ParavoxError

__all__ = [
    "ID_FIELDS",
    "REF_TEXT_FIELDS",
    "HYP_TEXT_FIELDS",
    "REF_LABEL_FIELDS",
    "HYP_LABEL_FIELDS",
    "EVENT_FIELDS",
    "EvaluationInputError",
    "IdMismatchError",
    "Record",
    "read_jsonl",
    "detect_field",
    "check_ids",
    "load_pairs",
    "load_text_pairs",
    "load_text_pairs_with_languages",
    "load_label_pairs",
    "load_event_pairs",
]

ID_FIELDS = ("id", "key", "utt", "utt_id", "filename", "audio", "audio_path")
REF_TEXT_FIELDS = ("text", "txt", "ref", "reference", "transcript")
HYP_TEXT_FIELDS = ("prediction", "text", "hyp", "hypothesis", "pred", "transcript")
REF_LABEL_FIELDS = ("label", "emotion", "class", "category", "tag")
HYP_LABEL_FIELDS = ("prediction", "pred", "label", "emotion", "class", "category", "tag")
EVENT_FIELDS = ("events",)
LANGUAGE_FIELDS = ("language", "lang")
_MAX_LISTED = 10


class EvaluationInputError(ParavoxError, ValueError):
    """A reference or hypothesis file that cannot be evaluated (the message says why)."""


class IdMismatchError(EvaluationInputError):
    """Reference and hypothesis hold different ids."""

    def __init__(self, missing: Sequence[str], extra: Sequence[str], message: str):
        self.missing = list(missing)
        self.extra = list(extra)
        super().__init__(message)


@dataclass(frozen=True)
class Record:
    """One JSON object and the line it came from."""

    line: int
    data: dict[str, Any]


def _name(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def read_jsonl(path: str | Path) -> list[Record]:
    """Read a JSON Lines file (``-`` for stdin); blank lines are skipped."""
    name = _name(path)
    try:
        if str(path) == "-":
            lines = sys.stdin.read().splitlines()
        else:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvaluationInputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise EvaluationInputError(f"{name}: is a directory, expected a JSONL file") from None
    except UnicodeDecodeError as exc:
        raise EvaluationInputError(f"{name}: not UTF-8 text ({exc.reason})") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvaluationInputError(f"{name}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise EvaluationInputError(
                f"{name}:{number}: expected a JSON object, got {type(data).__name__}"
            )
        records.append(Record(number, data))
    if not records:
        raise EvaluationInputError(f"{name}: no records")
    return records


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _has_field(records: Iterable[Record], name: str) -> bool:
    """Every record has ``name`` with a value, except failed inputs' error records and
    records that hold the field as null (a system's "no answer"); at least one has a value."""
    values = [r.data.get(name) for r in records if not ("error" in r.data and name not in r.data)]
    return any(_present(v) for v in values) and all(_present(v) or v is None for v in values) and all(
        name in r.data for r in records if "error" not in r.data)


def detect_field(
    records: Sequence[Record], candidates: Sequence[str], *, path: str | Path, what: str,
    option: str | None = None,
) -> str:
    """The first of ``candidates`` present in every record, else an error naming them."""
    for name in candidates:
        if _has_field(records, name):
            return name
    hint = f"; pass {option}" if option else ""
    raise EvaluationInputError(
        f"{_name(path)}: no {what} field found in every row (looked for "
        f"{', '.join(candidates)}){hint}"
    )


def _id_fields(
    ref: Sequence[Record], hyp: Sequence[Record], ref_path, hyp_path, id_field: str | None
) -> tuple[str, str]:
    if id_field is not None:
        return id_field, id_field
    for name in ID_FIELDS:
        if _has_field(ref, name) and _has_field(hyp, name):
            return name, name
    return (
        detect_field(ref, ID_FIELDS, path=ref_path, what="id", option="--id-field"),
        detect_field(hyp, ID_FIELDS, path=hyp_path, what="id", option="--id-field"),
    )


def _index(records: Sequence[Record], id_field: str, path) -> dict[str, Record]:
    out: dict[str, Record] = {}
    for r in records:
        value = r.data.get(id_field)
        if not _present(value):
            raise EvaluationInputError(f"{_name(path)}:{r.line}: no {id_field!r} (id) field")
        key = str(value)
        if key in out:
            raise EvaluationInputError(
                f"{_name(path)}:{r.line}: duplicate id {key!r} (first on line {out[key].line})"
            )
        out[key] = r
    return out


def _listed(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:_MAX_LISTED])
    more = f" ... ({len(ids)} in all)" if len(ids) > _MAX_LISTED else ""
    return shown + more


def check_ids(
    ref_ids: Iterable[str], hyp_ids: Iterable[str], *, ref_name: str = "reference",
    hyp_name: str = "hypothesis",
) -> None:
    """Raise :class:`IdMismatchError` unless both hold the same ids."""
    ref_list = list(ref_ids)
    hyp_set = set(hyp_ids)
    ref_set = set(ref_list)
    missing = [i for i in ref_list if i not in hyp_set]
    extra = sorted(hyp_set - ref_set)
    if not missing and not extra:
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} id(s) of {ref_name} missing from {hyp_name}: {_listed(missing)}")
    if extra:
        parts.append(f"{len(extra)} id(s) of {hyp_name} not in {ref_name}: {_listed(extra)}")
    raise IdMismatchError(missing, extra, "; ".join(parts))


def load_pairs(
    ref_path: str | Path,
    hyp_path: str | Path,
    *,
    ref_candidates: Sequence[str],
    hyp_candidates: Sequence[str],
    id_field: str | None = None,
    ref_field: str | None = None,
    hyp_field: str | None = None,
    what: str = "text",
    options: tuple[str, str] = ("--ref-field", "--hyp-field"),
) -> tuple[dict[str, Record], dict[str, Record], str, str]:
    """Read both files, pair them by id and pick the value fields.

    Returns ``(ref_records_by_id, hyp_records_by_id, ref_field, hyp_field)``; the
    reference's order is kept.
    """
    ref = read_jsonl(ref_path)
    hyp = read_jsonl(hyp_path)
    ref_id, hyp_id = _id_fields(ref, hyp, ref_path, hyp_path, id_field)
    ref_by_id = _index(ref, ref_id, ref_path)
    hyp_by_id = _index(hyp, hyp_id, hyp_path)
    check_ids(ref_by_id, hyp_by_id, ref_name=_name(ref_path), hyp_name=_name(hyp_path))
    ref_field = ref_field or detect_field(
        ref, ref_candidates, path=ref_path, what=f"reference {what}", option=options[0]
    )
    hyp_field = hyp_field or detect_field(
        hyp, hyp_candidates, path=hyp_path, what=f"hypothesis {what}", option=options[1]
    )
    return ref_by_id, hyp_by_id, ref_field, hyp_field


#: The label a prediction gets when the system gave none: null (``paravox emotion`` on an input
#: with no speech) or a failed input's ``{"id", "error"}`` record. It counts as wrong.
NO_ANSWER = "(no answer)"


def _string_values(records: dict[str, Record], field: str, path, *, allow_empty: bool,
                   no_answer: str | None = None) -> dict[str, str]:
    out = {}
    for key, r in records.items():
        if no_answer is not None and (r.data.get(field) is None and (field in r.data or "error" in r.data)):
            out[key] = no_answer
            continue
        if field not in r.data:
            raise EvaluationInputError(f"{_name(path)}:{r.line}: no {field!r} field")
        value = r.data[field]
        if value is None and allow_empty:
            value = ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise EvaluationInputError(
                f"{_name(path)}:{r.line}: {field!r} must be a string, got {type(value).__name__}"
            )
        if not allow_empty and not value.strip():
            raise EvaluationInputError(f"{_name(path)}:{r.line}: empty {field!r}")
        out[key] = value
    return out


def load_text_pairs(
    ref_path: str | Path,
    hyp_path: str | Path,
    *,
    id_field: str | None = None,
    ref_field: str | None = None,
    hyp_field: str | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """``(refs, hyps)``: transcripts by id. An empty or ``null`` text is an empty transcript."""
    ref, hyp, rf, hf = load_pairs(
        ref_path, hyp_path, ref_candidates=REF_TEXT_FIELDS, hyp_candidates=HYP_TEXT_FIELDS,
        id_field=id_field, ref_field=ref_field, hyp_field=hyp_field,
    )
    return (
        _string_values(ref, rf, ref_path, allow_empty=True),
        _string_values(hyp, hf, hyp_path, allow_empty=True),
    )


def load_text_pairs_with_languages(
    ref_path: str | Path,
    hyp_path: str | Path,
    *,
    id_field: str | None = None,
    ref_field: str | None = None,
    hyp_field: str | None = None,
    language_field: str | None = None,
) -> tuple[dict[str, str], dict[str, str], dict[str, str | None] | None]:
    """``(refs, hyps, languages)``: :func:`load_text_pairs` plus each reference's language.

    ``language_field`` names the reference field; by default the first of
    :data:`LANGUAGE_FIELDS` present in every reference row is used, and ``languages`` is
    ``None`` when there is none (a named field that is absent is an error).
    """
    ref, hyp, rf, hf = load_pairs(
        ref_path, hyp_path, ref_candidates=REF_TEXT_FIELDS, hyp_candidates=HYP_TEXT_FIELDS,
        id_field=id_field, ref_field=ref_field, hyp_field=hyp_field,
    )
    records = list(ref.values())
    if language_field is None:
        language_field = next((f for f in LANGUAGE_FIELDS if _has_field(records, f)), None)
    elif not any(language_field in r.data for r in records):
        raise EvaluationInputError(f"{_name(ref_path)}: no {language_field!r} (language) field")
    languages = None
    if language_field is not None:
        languages = {
            key: (None if r.data.get(language_field) is None else str(r.data[language_field]))
            for key, r in ref.items()
        }
    return (
        _string_values(ref, rf, ref_path, allow_empty=True),
        _string_values(hyp, hf, hyp_path, allow_empty=True),
        languages,
    )


def load_label_pairs(
    ref_path: str | Path,
    hyp_path: str | Path,
    *,
    id_field: str | None = None,
    ref_field: str | None = None,
    hyp_field: str | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """``(refs, hyps)``: class labels by id (numbers are read as their string). A prediction
    that is null or a failed input's error record reads as :data:`NO_ANSWER`, which counts as wrong."""
    ref, hyp, rf, hf = load_pairs(
        ref_path, hyp_path, ref_candidates=REF_LABEL_FIELDS, hyp_candidates=HYP_LABEL_FIELDS,
        id_field=id_field, ref_field=ref_field, hyp_field=hyp_field, what="label",
    )
    return (
        _string_values(ref, rf, ref_path, allow_empty=False),
        _string_values(hyp, hf, hyp_path, allow_empty=False, no_answer=NO_ANSWER),
    )


# ---------------------------------------------------------------- events

_LABEL_KEYS = ("tag", "label", "event_label")
_START_KEYS = ("start", "onset")
_END_KEYS = ("end", "offset")


def _first(d: dict[str, Any], keys: Sequence[str]) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


def _parse_event(item: Any, where: str) -> tuple[str, float, float]:
    if not isinstance(item, dict):
        raise EvaluationInputError(f"{where}: an event must be an object, got {type(item).__name__}")
    label = _first(item, _LABEL_KEYS)
    start = _first(item, _START_KEYS)
    end = _first(item, _END_KEYS)
    if not isinstance(label, str) or not label.strip():
        raise EvaluationInputError(f"{where}: event without a 'tag'/'label'")
    try:
        start_f, end_f = float(start), float(end)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EvaluationInputError(f"{where}: event {label!r} needs numeric 'start' and 'end'") from None
    if not 0 <= start_f <= end_f:  # also rejects NaN
        raise EvaluationInputError(f"{where}: event {label!r} has start {start} > end {end} or a negative time")
    return label.strip(), start_f, end_f


def _read_events_tsv(path: str | Path) -> dict[str, list[tuple[str, float, float]]]:
    name = _name(path)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvaluationInputError(f"{name}: no such file") from None
    out: dict[str, list[tuple[str, float, float]]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cols = [c.strip() for c in line.split("\t")]
        if number == 1 and len(cols) > 1 and cols[1].lower() in ("onset", "start"):
            continue  # header
        events = out.setdefault(cols[0], [])
        if len(cols) == 1 or all(not c for c in cols[1:]):
            continue  # a file without events
        if len(cols) < 4:
            raise EvaluationInputError(
                f"{name}:{number}: expected 'filename<TAB>onset<TAB>offset<TAB>label'"
            )
        events.append(_parse_event(
            {"onset": cols[1], "offset": cols[2], "label": cols[3]}, f"{name}:{number}"
        ))
    if not out:
        raise EvaluationInputError(f"{name}: no records")
    return out


def load_event_pairs(
    ref_path: str | Path,
    hyp_path: str | Path,
    *,
    id_field: str | None = None,
    events_field: str | None = None,
) -> tuple[dict[str, list[tuple[str, float, float]]], dict[str, list[tuple[str, float, float]]]]:
    """``(refs, hyps)``: ``{id: [(label, start, end), ...]}`` from JSONL or DCASE ``.tsv``."""
    tsv = [str(p).endswith(".tsv") for p in (ref_path, hyp_path)]
    if all(tsv):
        ref_ev, hyp_ev = _read_events_tsv(ref_path), _read_events_tsv(hyp_path)
        check_ids(ref_ev, hyp_ev, ref_name=_name(ref_path), hyp_name=_name(hyp_path))
        return ref_ev, {k: hyp_ev[k] for k in ref_ev}
    if any(tsv):
        raise EvaluationInputError("give both event files as .tsv or both as JSONL")
    ref, hyp, rf, hf = load_pairs(
        ref_path, hyp_path, ref_candidates=EVENT_FIELDS, hyp_candidates=EVENT_FIELDS,
        id_field=id_field, ref_field=events_field, hyp_field=events_field, what="events",
        options=("--events-field", "--events-field"),
    )
    out = []
    for records, field, path in ((ref, rf, ref_path), (hyp, hf, hyp_path)):
        events: dict[str, list[tuple[str, float, float]]] = {}
        for key, r in records.items():
            items = r.data.get(field)
            if items is None:
                items = []
            if not isinstance(items, list):
                raise EvaluationInputError(f"{_name(path)}:{r.line}: {field!r} must be a list")
            events[key] = [_parse_event(it, f"{_name(path)}:{r.line}") for it in items]
        out.append(events)
    return out[0], {k: out[1][k] for k in out[0]}
