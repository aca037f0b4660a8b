"""Audio LLMs as recognisers: Qwen2-Audio and Qwen2.5-Omni (MNV-17's LoRA on top) via transformers.

Registered through :mod:`paravox.backends.catalogue` as ``qwen2-audio`` and
``qwen2.5-omni-mnv17``; needs ``pip install 'paravox[qwen]'`` and, for useful speed, a GPU.

The speech is cut at pauses (the Silero VAD, as for Whisper) into stretches of at most
:data:`MAX_SECONDS` (both models' audio encoders read 30 s); each stretch is sent with MNV-17's
instruction ("transcribe the speech and mark every sound event") and the answer, a transcript
with tags inline, is read by :func:`paravox.backends.tagged_output.tagged_transcript`: the tags
become events at the place the model wrote them (``timing="text"``). The model writes its own
tags, so paravox's event detector does not run beside it (``tags_inline``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.backends.tagged_output import TaggedResult, tagged_transcript
from paravox.errors import ModelError, ModelUnavailableError, OptionError
from paravox.options import TranscribeOptions

log = logging.getLogger(__name__)

#: Longest stretch of audio sent in one request (the Whisper-style encoders read 30 s).
MAX_SECONDS = 30.0
#: Stretches shorter than this are not sent (nothing to transcribe; the LLMs invent text).
MIN_SECONDS = 0.3
VARIANTS = ("qwen2-audio", "qwen2.5-omni")
#: The system prompts the models were tuned with (MNV-17's scripts keep each model's default).
_SYSTEM = {
    "qwen2-audio": "You are a helpful assistant.",
    "qwen2.5-omni": "You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of "
                    "perceiving auditory and visual inputs, as well as generating text and speech.",
}


def stretches(samples: np.ndarray, opts: TranscribeOptions, max_seconds: float = MAX_SECONDS) -> list[tuple[int, int]]:
    """Sample ranges to send: the VAD's speech (or everything with ``vad`` off) grouped into
    stretches of at most ``max_seconds``, cut between speech chunks; a longer chunk is cut evenly.

    >>> stretches(np.zeros(16000 * 70, dtype=np.float32), TranscribeOptions(vad=False))
    [(0, 373333), (373333, 746666), (746666, 1120000)]
    """
    limit = int(max_seconds * SAMPLE_RATE)
    if opts.vad:
        from paravox.backends.speech_regions import speech_chunks

        chunks = [(c["start"], c["end"]) for c in speech_chunks(samples, opts)]
    else:
        chunks = [(0, len(samples))] if len(samples) else []
    pieces: list[tuple[int, int]] = []
    for a, b in chunks:
        n = -(-(b - a) // limit)  # ceil
        step = (b - a) / n
        pieces.extend((a + int(i * step), a + int((i + 1) * step)) for i in range(n))
    grouped: list[tuple[int, int]] = []
    for a, b in pieces:
        if grouped and b - grouped[-1][0] <= limit:
            grouped[-1] = (grouped[-1][0], b)
        else:
            grouped.append((a, b))
    return [(a, b) for a, b in grouped if b - a >= MIN_SECONDS * SAMPLE_RATE]


def _torch_dtype(torch: Any, name: str | None, device: str) -> Any:
    if name is None:
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    table = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    if name not in table:
        raise OptionError(f"--compute-type {name}: an audio LLM runs in {', '.join(table)}")
    return table[name]


def _adapter_keys(adapter: Path) -> list[str]:
    """The weight names a PEFT adapter folder holds (safetensors, or the older .bin)."""
    weights = adapter / "adapter_model.safetensors"
    if weights.is_file():
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            return list(f.keys())
    weights = adapter / "adapter_model.bin"
    if weights.is_file():
        import torch

        return list(torch.load(str(weights), map_location="cpu", weights_only=True))
    raise ModelError(f"{adapter}: no adapter_model.safetensors or adapter_model.bin; give a PEFT LoRA folder")


def _apply_adapter(model: Any, adapter: Path) -> Any:
    """Merge a PEFT LoRA adapter folder into ``model``, or into its thinker when the adapter was
    trained on the thinker alone (its weight names do not go through ``thinker.``). PEFT loads an
    adapter whose names do not match with a warning only, leaving its layers at their initial
    values, so where it goes is read from the names rather than from an error."""
    if not (adapter / "adapter_config.json").is_file():
        raise ModelError(f"{adapter}: no adapter_config.json; give a PEFT LoRA folder (or a full model folder)")
    from peft import PeftModel

    thinker = getattr(model, "thinker", None)
    on_thinker = thinker is not None and not any(".thinker." in k for k in _adapter_keys(adapter))
    try:
        if on_thinker:
            model.thinker = PeftModel.from_pretrained(thinker, str(adapter)).merge_and_unload()
            return model
        return PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    except ValueError as exc:
        raise ModelError(f"{adapter}: the adapter does not fit this model ({exc})") from None


def _omni_audio_processor(transformers: Any) -> type:
    """Qwen2.5-Omni's processor for audio and text alone.

    ``Qwen2_5OmniProcessor`` takes an image and a video processor and refuses ``None`` for either
    (transformers' ``ProcessorMixin.__init__`` checks each argument's class); Qwen2-VL's video
    processor needs torchvision, which has no working build beside every torch. paravox sends
    only audio and text, so this subclass declares only the feature extractor and the tokenizer:
    transformers reads a processor's parts from its ``__init__`` signature, so ``from_pretrained``
    loads those two and the chat template from the model folder as ``AutoProcessor`` does, and
    the audio placeholders are expanded by Qwen2.5-Omni's own code.
    """
    base = transformers.Qwen2_5OmniProcessor
    mixin = transformers.ProcessorMixin

    class AudioOnlyOmniProcessor(base):
        def __init__(self, feature_extractor: Any = None, tokenizer: Any = None, chat_template: Any = None) -> None:
            mixin.__init__(self, feature_extractor, tokenizer, chat_template=chat_template)
            self.audio_token, self.audio_token_id = tokenizer.audio_token, tokenizer.audio_token_id
            self.audio_bos_token, self.audio_eos_token = tokenizer.audio_bos_token, tokenizer.audio_eos_token

        @property
        def model_input_names(self) -> list[str]:
            return list(dict.fromkeys(self.tokenizer.model_input_names + self.feature_extractor.model_input_names
                                      + ["feature_attention_mask"]))

    return AudioOnlyOmniProcessor


class AudioLLMASR:
    """An audio LLM (``variant``: ``qwen2-audio`` or ``qwen2.5-omni``) from a model folder, with
    an optional LoRA ``adapter`` folder merged in, prompted with ``prompt``."""

    tags_inline = True

    def __init__(self, model_dir: str | Path, *, variant: str, prompt: str, adapter: str | Path | None = None,
                 device: str = "auto", dtype: str | None = None, threads: int = 0, max_new_tokens: int = 256,
                 name: str | None = None) -> None:
        if variant not in VARIANTS:
            raise OptionError(f"audio LLM variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise ModelUnavailableError(f"{name or variant} needs the 'qwen' extra ({exc.name} not installed): "
                                        "pip install 'paravox[qwen]'") from None
        self.name = name or variant
        self.variant = variant
        self.prompt = prompt
        self.max_new_tokens = max_new_tokens
        if threads:
            torch.set_num_threads(threads)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.dtype = _torch_dtype(torch, dtype, device)
        if variant == "qwen2-audio":
            self.processor = transformers.AutoProcessor.from_pretrained(str(model_dir))
            model = transformers.Qwen2AudioForConditionalGeneration.from_pretrained(str(model_dir), dtype=self.dtype)
        else:
            self.processor = _omni_audio_processor(transformers).from_pretrained(str(model_dir))
            # Text out only: the talker and the vocoder (a few GB) are not built.
            model = transformers.Qwen2_5OmniForConditionalGeneration.from_pretrained(
                str(model_dir), dtype=self.dtype, enable_audio_output=False)
        if adapter is not None:
            model = _apply_adapter(model, Path(adapter))
        model.to(device).eval()
        self.model = model
        self.generator = model.thinker if variant == "qwen2.5-omni" else model

    @classmethod
    def from_catalogue(cls, entry: Any, paths: Sequence[Path], *, threads: int = 0, model: str | None = None,
                       device: str | None = None, compute_type: str | None = None) -> "AudioLLMASR":
        """Build from the catalogue's snapshot folders (base, then adapter); ``model`` (``--asr-model``)
        names a LoRA folder of one's own to merge instead of the catalogue's."""
        base, adapter = Path(paths[0]), (Path(paths[1]) if len(paths) > 1 else None)
        if adapter is not None and not (adapter / "adapter_config.json").is_file() and (adapter / "config.json").is_file():
            base, adapter = adapter, None  # the fine-tune was published merged: it is the model
        if model is not None:
            adapter = Path(model).expanduser()
            if not adapter.is_dir():
                raise ModelError(f"--asr-model {model}: no such folder; give a LoRA adapter folder for {entry.name}")
        options = dict(entry.options)
        return cls(base, adapter=adapter, device=device or "auto", dtype=compute_type, threads=threads,
                   name=entry.name, **options)

    def _conversation(self) -> list[dict[str, Any]]:
        audio = {"type": "audio", "audio_url": "input.wav"} if self.variant == "qwen2-audio" else {
            "type": "audio", "audio": "input.wav"}
        return [
            {"role": "system", "content": [{"type": "text", "text": _SYSTEM[self.variant]}]
             if self.variant == "qwen2.5-omni" else _SYSTEM[self.variant]},
            {"role": "user", "content": [audio, {"type": "text", "text": self.prompt}]},
        ]

    def generate(self, audio: np.ndarray) -> str:
        """The model's answer for one stretch of 16 kHz audio, special tokens removed."""
        import torch

        text = self.processor.apply_chat_template(self._conversation(), add_generation_prompt=True, tokenize=False)
        inputs = self.processor(text=text, audio=[np.asarray(audio, dtype=np.float32)], sampling_rate=SAMPLE_RATE,
                                return_tensors="pt", padding=True)
        inputs = {k: (v.to(self.device, dtype=self.dtype) if k == "input_features" else v.to(self.device))
                  if hasattr(v, "to") else v for k, v in inputs.items()}
        with torch.inference_mode():
            out = self.generator.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new = out[:, inputs["input_ids"].shape[1]:]
        return self.processor.batch_decode(new, skip_special_tokens=True, clean_up_tokenization_spaces=False)[0].strip()

    def transcribe(self, samples: np.ndarray, *, offset: float = 0.0, options: TranscribeOptions | None = None,
                   progress: Any = None) -> TaggedResult:
        """One segment per stretch of speech (words spread evenly over it: the model gives no
        times) and an event per tag it wrote; times absolute (``offset`` added)."""
        opts = options or TranscribeOptions()
        audio = np.ascontiguousarray(samples, dtype=np.float32)
        segments, events = [], []
        for a, b in stretches(audio, opts):
            answer = self.generate(audio[a:b])
            log.debug("%s %.2f-%.2f: %s", self.name, offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE, answer)
            seg, evs = tagged_transcript(answer, offset + a / SAMPLE_RATE, offset + b / SAMPLE_RATE,
                                         language=opts.language)
            if seg is not None:
                segments.append(seg)
            events.extend(evs)
            if progress is not None:
                progress(offset + b / SAMPLE_RATE)
        return TaggedResult(segments, opts.language, 1.0 if opts.language else None, events)
