"""torch for training, imported with a clear error when missing, and made deterministic.

Training needs the 'train' extra; inference never imports this.
"""

from __future__ import annotations

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("training needs torch: pip install 'paravox[train]'") from exc

__all__ = ["torch", "nn", "seed_torch"]


def seed_torch(seed: int) -> None:
    """Seed torch, run it single-threaded with deterministic algorithms: same seed, same model."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
