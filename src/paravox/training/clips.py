"""Rows of a labelled clip manifest (JSONL) and the tag each row stands for."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def manifest_rows(manifest: Path) -> list[dict[str, Any]]:
    """The rows of a clip manifest (JSONL), as dicts."""
    from paravox.evaluation.io import read_jsonl

    return [record.data for record in read_jsonl(manifest)]


def clip_label(row: dict[str, Any]) -> str:
    """A clip row's canonical tag (its ``tag`` or ``label``)."""
    from paravox.taxonomy import canonical_tag

    raw = row.get("tag") or row.get("label")
    if raw is None:
        raise ValueError(f"row {row.get('id')!r} has neither 'tag' nor 'label'")
    return canonical_tag(str(raw)) or str(raw)


def extra_label(row: dict[str, Any]) -> str | None:
    """The tag of an extra clip row (EmoGator categories mapped), or None when it has none."""
    from paravox.training.mixtures import EMOGATOR_TAGS

    if "category" in row:  # EmoGator
        return EMOGATOR_TAGS.get(row["category"])
    return clip_label(row)
