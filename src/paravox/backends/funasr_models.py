"""FunASR's models as backends: SenseVoice-Small (``asr``) and emotion2vec+ (``emotion``).

Registered through :mod:`paravox.backends.catalogue` as ``sensevoice-small``,
``emotion2vec-plus-base`` and ``emotion2vec-plus-large``; needs ``pip install 'paravox[funasr]'``.
FunASR is imported when a backend is built, never before. What SenseVoice writes is read by
:func:`paravox.backends.tagged_output.sensevoice_transcript`.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.backends.audio_llm import stretches
from paravox.backends.tagged_output import TaggedResult, sensevoice_transcript
from paravox.errors import ModelUnavailableError
from paravox.options import TranscribeOptions
from paravox.result import Segment

log = logging.getLogger(__name__)

_FIRST_FRAME = 400  #: samples in the first frame of emotion2vec's convolutional front end


@contextlib.contextmanager
def _funasr_quiet() -> Iterator[None]:
    """Importing FunASR and loading a model print to stdout (an ffmpeg notice, the version),
    which would corrupt ``paravox transcribe -f json`` on stdout, and the import configures the
    root logger at INFO (``funasr.bin.realtime_ws`` calls ``logging.basicConfig``), which would
    send every library's INFO lines to stderr. Inside this block stdout goes to the debug log and
    the root logger is put back as it was afterwards."""
    root = logging.getLogger()
    level, handlers, disabled = root.level, list(root.handlers), logging.root.manager.disable
    printed = io.StringIO()
    logging.disable(logging.WARNING)  # FunASR logs each loading step (INFO) and "trust_remote_code: False"
    try:
        with contextlib.redirect_stdout(printed):
            yield
    finally:
        logging.disable(disabled)
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
        if printed.getvalue().strip():
            log.debug("funasr printed: %s", printed.getvalue().strip())


def _auto_model(folder: Path, name: str, device: str | None, threads: int) -> Any:
    with _funasr_quiet():
        try:
            from funasr import AutoModel
        except ImportError as exc:
            raise ModelUnavailableError(f"{name} needs the 'funasr' extra ({exc.name} not installed): "
                                        "pip install 'paravox[funasr]'") from None
        kwargs: dict[str, Any] = {"model": str(folder), "disable_update": True, "disable_pbar": True,
                                  "log_level": "ERROR"}
        if device in ("cpu", "cuda"):
            kwargs["device"] = device
        if threads:
            kwargs["ncpu"] = threads
        return AutoModel(**kwargs)


class _FunASRBackend:
    """A FunASR model folder loaded with ``AutoModel``; built from the catalogue's snapshot."""

    def __init__(self, folder: str | Path, *, device: str | None = None, threads: int = 0,
                 name: str = "funasr") -> None:
        self.name = name
        self.model = _auto_model(Path(folder), name, device, threads)

    @classmethod
    def from_catalogue(cls, entry: Any, paths: Sequence[Path], *, threads: int = 0, device: str | None = None,
                       **ignored: Any) -> Any:
        return cls(paths[0], device=device, threads=threads, name=entry.name)


class SenseVoiceASR(_FunASRBackend):
    """SenseVoice-Small through FunASR: each stretch of speech (at most 30 s, cut at pauses) is
    one utterance with its language, emotion and event token."""

    tags_inline = True

    def generate(self, audio: np.ndarray, language: str | None = None) -> str:
        """SenseVoice's rich transcription of one stretch of 16 kHz audio, as it writes it:
        ``<|zh|><|HAPPY|><|Laughter|><|withitn|>哈哈今天真好``."""
        out = self.model.generate(input=np.ascontiguousarray(audio, dtype=np.float32), cache={},
                                  language=language or "auto", use_itn=True)
        return out[0]["text"] if out else ""

    def transcribe(self, samples: np.ndarray, *, offset: float = 0.0, options: TranscribeOptions | None = None,
                   progress: Any = None) -> TaggedResult:
        opts = options or TranscribeOptions()
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        segments, events, languages = [], [], []
        for a, b in stretches(audio, opts):
            text = self.generate(audio[a:b], opts.language)
            log.debug("%s %.2f-%.2f: %s", self.name, offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE, text)
            segs, evs, language = sensevoice_transcript(text, offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE)
            segments.extend(segs)
            events.extend(evs)
            if language:
                languages.append(language)
            if progress is not None:
                progress(offset + b / SAMPLE_RATE)
        language = opts.language or (max(set(languages), key=languages.count) if languages else None)
        return TaggedResult(segments, language, None, events)


def _label_name(label: str) -> str:
    """paravox's name for one of emotion2vec's labels: ``生气/angry`` -> ``angry``,
    ``<unk>`` -> ``unknown`` (the shipped model's names, in emotion2vec's order)."""
    name = str(label).split("/")[-1].strip().lower()
    return "unknown" if name in ("<unk>", "unk") else name


class Emotion2VecEmotion(_FunASRBackend):
    """emotion2vec+ (base or large) through FunASR: nine labels for the whole input and for each
    speech segment, and its utterance embedding. The same model runs ``paravox emotion --model
    emotion2vec-plus-base`` (:class:`~paravox.speech_emotion.recognizer.EmotionRecognizer`
    wraps it), so both read the file-level emotion one way."""

    _definitions: Any = None

    def utterance(self, audio: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        """emotion2vec's utterance answer for one clip of 16 kHz audio: its labels (paravox's
        names), their probabilities and its utterance embedding (the mean of its frame
        features, ``feats``). A clip shorter than its front end's one frame (400 samples) is
        padded with silence."""
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        audio = np.pad(audio, (0, max(0, _FIRST_FRAME - len(audio))))
        out = self.model.generate(audio, granularity="utterance", extract_embedding=True)
        out = out[0] if out else {}
        return ([_label_name(label) for label in out.get("labels", [])],
                np.asarray(out.get("scores", []), dtype=np.float32),
                np.asarray(out.get("feats", np.zeros(0)), dtype=np.float32).reshape(-1))

    def score(self, samples: np.ndarray, sample_rate: int, segments: Sequence[Segment]):
        """``(file-level emotion, one per segment)`` by paravox-emotion's definitions
        (:class:`~paravox.backends.speech_emotion.ParavoxEmotion`: none for the file without
        speech, each segment scored on its own), emotion2vec's :meth:`utterance` per clip."""
        if self._definitions is None:
            from paravox.backends.speech_emotion import ParavoxEmotion

            self._definitions = ParavoxEmotion(self)
            self._definitions.name = self.name
        return self._definitions.score(samples, sample_rate, segments)
