"""Shared fixtures: the data pack beside the repo, the bundled sample, one analyser per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SAMPLES = ROOT / "samples"


def manifest(folder: str) -> list[dict]:
    path = DATA / folder / "manifest.jsonl"
    if not path.exists():
        pytest.skip(f"data pack not found at {DATA} (clone with ../shared beside the repo)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def clip(folder: str, clip_id: str) -> tuple[Path, dict]:
    for row in manifest(folder):
        if row["id"] == clip_id:
            return DATA / folder / row["audio"], row
    raise KeyError(clip_id)


@pytest.fixture(scope="session")
def analyzer():
    from paravox.analyzer import Analyzer

    return Analyzer(threads=2)
