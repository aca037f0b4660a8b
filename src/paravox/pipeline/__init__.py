"""The analysis pipeline and its options."""

from paravox.pipeline.analyzer import Analyzer, analyze
from paravox.pipeline.options import AnalyzeOptions, TranscribeOptions

__all__ = ["Analyzer", "AnalyzeOptions", "TranscribeOptions", "analyze"]
