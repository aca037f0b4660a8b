"""The field's evaluation metrics: NV-ASR (Joint CER, NV exact match, tag F1, and the
NVVSpeech Challenge Track 1 position-aware scores),
classification (WA, UA/UAR, macro-F1, weighted F1, CCC; label maps that translate a
corpus' labels to the model's) and event detection
(event-based and segment-based F1). Definitions: ``docs/metrics.md``."""

from paravox.evaluation.classification import (
    ClassificationReport,
    ccc,
    classification_report,
    evaluate_classification,
)
from paravox.evaluation.events import EventDetectionReport, evaluate_events
from paravox.evaluation.io import EvaluationInputError, IdMismatchError
from paravox.evaluation.label_maps import (
    LabelMap,
    LabelMapError,
    apply_label_map,
    builtin_label_maps,
    load_label_map,
)
from paravox.evaluation.nvasr import NVASRReport, edit_counts, evaluate_nvasr
from paravox.evaluation.nvvspeech import NVVSpeechReport, evaluate_nvvspeech
from paravox.evaluation.text import tokenize

__all__ = [
    "NVASRReport",
    "evaluate_nvasr",
    "NVVSpeechReport",
    "evaluate_nvvspeech",
    "edit_counts",
    "tokenize",
    "ClassificationReport",
    "evaluate_classification",
    "classification_report",
    "ccc",
    "EventDetectionReport",
    "evaluate_events",
    "EvaluationInputError",
    "IdMismatchError",
    "LabelMap",
    "LabelMapError",
    "load_label_map",
    "builtin_label_maps",
    "apply_label_map",
]
