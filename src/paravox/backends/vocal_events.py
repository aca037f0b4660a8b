"""The ``paravox-events`` backend: vocal events in every analysis; and ``paravox-classify``, the
isolated-vocalization classifier of ``paravox classify`` as a backend by name.

Runs the event detector over each analysed window. Events far from words stay events
(``Analysis.events``); ``Analysis.tagged_text()`` writes each one inline at the word
boundary nearest its start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from paravox.backends import registry
from paravox.errors import ModelError, OptionError
from paravox.result import Event, Segment
from paravox.vocal_events.api import check_tags, classify, isolated_classifier_path, model_part, region_classifier, region_gate, region_laughter
from paravox.vocal_events.model import find_events, load_classifier, load_detector


@registry.register(
    "events",
    "paravox-events",
    description="vocal-event detector on Whisper-base encoder states (17 tags) + Switchboard laughter second opinion (MIT); see its model card",
)
class ParavoxEvents:
    name = "paravox-events"
    #: whether the detector config's laughter model (step 5 of find_events) is loaded and used
    second_opinion = True

    def __init__(
        self,
        *,
        model: str | None = None,
        threshold: float | Mapping[str, float] | None = None,
        tags: Sequence[str] | None = None,
        min_duration: float | None = None,
    ) -> None:
        self.detector = load_detector(model_part(model, "detector"))
        self.classifier = region_classifier(model, self.detector)
        self.gate = region_gate(model, self.detector)
        self.laughter = region_laughter(model, self.detector) if self.second_opinion else None
        self.tags = check_tags(tags, self.detector.tags, "event detector")
        if isinstance(threshold, Mapping):
            check_tags(list(threshold), self.detector.tags, "event detector")
        self.threshold = threshold
        self.min_duration = min_duration

    def detect(self, samples: np.ndarray, sample_rate: int, segments: Sequence[Segment]) -> list[Event]:
        if sample_rate != 16000:
            raise ValueError(f"paravox-events reads 16 kHz audio, got {sample_rate} Hz")
        return find_events(
            np.asarray(samples, dtype=np.float32), self.detector, self.classifier,
            threshold=self.threshold, tags=self.tags, min_duration=self.min_duration, gate=self.gate,
            laughter=self.laughter,
        )


@registry.register(
    "events",
    "paravox-events-fast",
    description="paravox-events without the laughter second opinion: what it cost (docs/events.md), fewer laughs",
)
class ParavoxEventsFast(ParavoxEvents):
    """``paravox-events`` without step 5 (the Switchboard laughter model): the same events but
    the laughs only that model adds, for less time on speech with vocal activity."""

    name = "paravox-events-fast"
    second_opinion = False


@registry.register(
    "classify",
    "paravox-classify",
    description="isolated-vocalization classifier of 'paravox classify' (shipped isolated/, or model=DIR)",
)
class ParavoxClassify:
    """:func:`paravox.classify` with a fixed ``model`` (a classifier or events model directory;
    default: the shipped ``isolated/``) and ``tags``."""

    name = "paravox-classify"

    def __init__(self, *, model: str | None = None, tags: Sequence[str] | None = None) -> None:
        clf = load_classifier(isolated_classifier_path(model))  # a bad directory fails here, before any input
        self.tags = check_tags(tags, clf.tags, "classifier")
        self.model = model

    def classify(self, source: Any, *, name: str | None = None):
        return classify(source, model=self.model, tags=self.tags, name=name)


class BackboneClassify(ParavoxClassify):
    """A head trained with ``paravox train isolated --backbone NAME`` on a hub backbone
    (``voc2vec``): registered by the catalogue under the backbone's name, built with the head's
    directory (``model``); the backbone comes from paravox's cache."""

    def __init__(self, *, backbone: str, model: str | None = None, tags: Sequence[str] | None = None) -> None:
        if not model:
            raise OptionError(f"{backbone} needs a head: 'paravox train isolated --backbone {backbone} -o DIR', then model=DIR")
        super().__init__(model=model, tags=tags)
        clf = load_classifier(isolated_classifier_path(model))
        got = (clf.backbone or {}).get("name")
        if got != backbone:
            reads = f"{got}'s features" if got else "paravox's own features"
            raise ModelError(f"{Path(model)}: this head reads {reads}, "
                             f"not {backbone}'s; train one with 'paravox train isolated --backbone {backbone}' "
                             f"(or run it as paravox-classify)")
        clf.prepare()  # the backbone, loaded once, before any input
        self.name = backbone

    @classmethod
    def from_catalogue(cls, entry: Any, paths: Sequence[Path], *, model: str | None = None,
                       tags: Sequence[str] | None = None) -> "BackboneClassify":
        return cls(backbone=entry.name, model=model, tags=tags)
