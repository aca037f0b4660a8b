"""Writing a trained model directory: ``config.json`` and ``weights.npz``, each replaced atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["save_model"]


def save_model(directory: str | Path, config: dict[str, Any], weights: dict[str, np.ndarray]) -> Path:
    """Write ``config.json`` and ``weights.npz`` (float16 where that loses nothing that matters)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / "weights.tmp.npz"
    np.savez_compressed(tmp, **{k: v.astype(np.float16 if v.size > 4096 else np.float32) for k, v in weights.items()})
    os.replace(tmp, directory / "weights.npz")
    (directory / "config.json.tmp").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(directory / "config.json.tmp", directory / "config.json")
    return directory
