"""Pooled features from a hub backbone (``voc2vec``, a wav2vec 2.0 model) for the isolated classifier.

``paravox train isolated --backbone voc2vec`` trains paravox's NumPy head on these features
instead of paravox's own Whisper-base states, and writes the backbone into the head's
``config.json`` (``"backbone": {"name", "repo_id", "revision", "commit", "layers"}``). A
classifier whose config names a backbone computes its features here, so ``paravox classify
--model DIR`` needs the backbone's runtime (``pip install 'paravox[transformers]'``: torch and
transformers, imported only in this module) and its files in paravox's cache
(``paravox models --download voc2vec``); without them it fails with the catalogue's one line.

The features: the backbone's feature extractor (wav2vec 2.0's zero-mean, unit-variance
normalisation), the model's hidden states, the **average of every transformer layer's output**
(layers 1 to N; layer 0, the convolutional front end's projection, left out), then its
**mean and standard deviation over time**: ``2 * hidden size`` values (1536 for voc2vec).
A clip longer than :data:`MAX_SECONDS` is read in near-equal pieces of at most that, whose
frames are pooled together.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from paravox.errors import ModelError, ModelUnavailableError

__all__ = ["POOLING", "MAX_SECONDS", "Backbone", "for_training", "for_config"]

log = logging.getLogger(__name__)

#: How the frames are pooled (written into the head's config and model card).
POOLING = "mean+std over time of the average of the transformer layers' outputs"
#: The longest stretch given to the backbone at once (attention's cost grows with its square).
MAX_SECONDS = 30.0
#: Shorter input is zero-padded to this many samples (wav2vec 2.0's front end needs 400 for one frame).
MIN_SAMPLES = 1600


class Backbone:
    """A wav2vec 2.0-architecture model (``name`` in the catalogue) loaded from ``folder``."""

    def __init__(self, name: str, folder: str | Path, *, layers: Sequence[int] | None = None,
                 device: str | None = None) -> None:
        from paravox import model_hub

        self.entry = model_hub.get(name)
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise ModelUnavailableError(
                f"{name} needs the '{self.entry.extra}' extra ({exc.name} not installed): {self.entry.pip_line}") from None
        self.name = name
        self.folder = Path(folder)
        self._torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        verbosity = transformers.logging.get_verbosity()
        transformers.logging.set_verbosity_error()  # a pre-training checkpoint's unused heads are expected
        try:
            self.model = transformers.AutoModel.from_pretrained(str(self.folder)).to(self.device).eval()
        except (OSError, ValueError) as exc:
            raise ModelError(f"{name}: cannot load the model in {self.folder} ({str(exc).splitlines()[0][:200]})") from None
        finally:
            transformers.logging.set_verbosity(verbosity)
        if (self.folder / "preprocessor_config.json").is_file():
            self.extractor = transformers.Wav2Vec2FeatureExtractor.from_pretrained(str(self.folder))
        else:  # wav2vec 2.0's defaults: 16 kHz, normalised per input
            self.extractor = transformers.Wav2Vec2FeatureExtractor()
        n = int(self.model.config.num_hidden_layers)
        self.layers = list(range(1, n + 1)) if layers is None else [int(x) for x in layers]
        bad = [x for x in self.layers if not 0 <= x <= n]
        if bad or not self.layers:
            raise ModelError(f"{name}: layers {bad or self.layers} asked for; the model in {self.folder} has 0 to {n}")

    @property
    def commit(self) -> str:
        """The snapshot's commit (the folder's name in the hub cache layout)."""
        return self.folder.name

    @property
    def dim(self) -> int:
        return 2 * int(self.model.config.hidden_size)

    def spec(self) -> dict[str, Any]:
        """What a head's ``config.json`` records about the features it was trained on."""
        return {"name": self.name, "repo_id": self.entry.repo_id, "revision": self.entry.revision,
                "commit": self.commit, "layers": list(self.layers), "pooling": POOLING}

    @property
    def key(self) -> str:
        """Names these features in the training's feature cache."""
        return f"{self.entry.repo_id}@{self.commit}|{self.layers}|{POOLING}"

    def pooled(self, samples: np.ndarray) -> np.ndarray:
        """``(2 * hidden,)`` float32 features of 16 kHz mono ``samples``."""
        from paravox.encoder.framing import windows

        torch = self._torch
        x = np.asarray(samples, dtype=np.float32)
        if len(x) < MIN_SAMPLES:
            x = np.pad(x, (0, MIN_SAMPLES - len(x)))
        frames = []
        with torch.inference_mode():
            for piece in windows(x, MAX_SECONDS):
                values = self.extractor(piece, sampling_rate=16000, return_tensors="pt").input_values.to(self.device)
                states = self.model(values, output_hidden_states=True).hidden_states
                frames.append(torch.stack([states[i][0] for i in self.layers]).mean(dim=0).float().cpu().numpy())
        h = np.concatenate(frames)
        return np.concatenate([h.mean(axis=0), h.std(axis=0)]).astype(np.float32)


def for_training(name: str) -> Backbone:
    """The backbone ``name`` from the catalogue, fetched into the cache when absent and small
    enough (one clear line when it cannot be), with every transformer layer averaged."""
    from paravox import model_hub

    entry = model_hub.get(name)
    return Backbone(name, model_hub.resolve(entry)[0])


def check_spec(spec: Any, where: str) -> None:
    """A config's ``backbone`` entry, checked without loading anything (:class:`ModelError` otherwise)."""
    from paravox import model_hub

    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise ModelError(f"{where}: 'backbone' must be an object with the backbone's 'name'")
    if spec["name"] not in model_hub.CATALOGUE:
        raise ModelError(f"{where}: the backbone {spec['name']!r} is not in this paravox's catalogue "
                         f"(it knows {', '.join(n for n in model_hub.CATALOGUE if not n.startswith('faster-whisper'))})")
    layers = spec.get("layers")
    if layers is not None and (not isinstance(layers, list) or not all(isinstance(x, int) for x in layers)):
        raise ModelError(f"{where}: the backbone's 'layers' must be a list of layer numbers")


def for_config(spec: Mapping[str, Any]) -> Backbone:
    """The backbone a head's config names, loaded once per process (the catalogue's one-line
    :class:`~paravox.errors.ModelUnavailableError` when its runtime or files are absent)."""
    return _load(spec["name"], tuple(spec.get("layers") or ()), spec.get("commit"))


@lru_cache(maxsize=2)
def _load(name: str, layers: tuple[int, ...], commit: str | None) -> Backbone:
    from paravox import model_hub

    folder = model_hub.resolve(model_hub.get(name))[0]
    if commit and folder.name != commit:
        log.warning("%s: the head was trained on commit %s of %s; the cache holds %s (features may differ)",
                    name, commit[:12], model_hub.get(name).repo_id, folder.name[:12])
    return Backbone(name, folder, layers=layers or None)
