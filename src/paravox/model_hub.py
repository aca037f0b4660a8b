"""Hub models: what each one is, where it comes from, what it needs, and its files in the cache.

paravox's default backends ship inside the package and run offline on a CPU. The models in
:data:`CATALOGUE` are the field's own systems (SenseVoice, emotion2vec+, Qwen2-Audio, MNV-17's
fine-tuned Qwen2.5-Omni, every faster-whisper size), run through paravox's inputs, results and
benchmarks. Each one is chosen by name like any backend (``--asr sensevoice-small``) and needs:

* its **extra** (``pip install 'paravox[funasr]'``): the runtime, imported only when the
  backend is built;
* its **files**, fetched once from the model's hub repository at a pinned revision into
  paravox's cache (``<cache>/hub``, Hugging Face's cache layout, so an interrupted download
  resumes): ``paravox models --download NAME``, or on first use for models under
  :data:`AUTO_DOWNLOAD_GB`. A machine that will go offline fetches them ahead of time.

Without the extra or the files the backend fails with one line that says what is missing and
the command that fixes it (:class:`~paravox.errors.ModelUnavailableError`; the command line
exits with status 1). This module is plain data and the file system: listing what is present
imports nothing heavy. It sits below the layers that use it (:mod:`paravox.vocal_events.backbone`
loads a backbone from it; :mod:`paravox.backends.catalogue` registers every entry as a backend).

>>> entry = get("sensevoice-small")
>>> entry.kind, entry.extra, entry.pip_line
('asr', 'funasr', "pip install 'paravox[funasr]'")
>>> get("faster-whisper:large-v3").repo_id
'Systran/faster-whisper-large-v3'
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paravox.errors import ModelUnavailableError

#: Models up to this size are downloaded on first use when the network allows; bigger ones
#: only by ``paravox models --download NAME`` (nobody should start a 20-GB download by typo).
AUTO_DOWNLOAD_GB = 2.0
#: Seconds to wait for the hub's answer about a file before calling the network absent.
ETAG_TIMEOUT = 10.0


@dataclass(frozen=True)
class HubModel:
    """One hub model paravox can run as a backend."""

    name: str  #: the backend name (``--asr NAME``, ``--emotion NAME``)
    kind: str  #: ``asr``, ``emotion`` or ``classify`` (the registry's kinds)
    repo_id: str  #: the model's hub repository
    revision: str  #: the revision fetched: a commit where one is pinned, else a branch
    extra: str | None  #: the paravox extra that installs its runtime (None: the core install)
    modules: tuple[str, ...]  #: the import names that extra provides (checked, not imported)
    size_gb: float  #: approximate download size, all repositories together
    licence: str
    hardware: str
    summary: str
    #: ``module:attribute`` of the class that runs it, imported when the backend is built
    implementation: str | None = None
    #: a second repository applied on top (MNV-17's LoRA adapter), with its revision
    adapter: str | None = None
    adapter_revision: str = "main"
    #: files that must be in the snapshot for it to count as present
    required: tuple[str, ...] = ()
    #: only these files are fetched (None: the whole repository)
    allow_patterns: tuple[str, ...] | None = None
    #: keyword arguments for the implementation (the variant, the prompt ...)
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)
    #: fetched on first use when absent (None: when it is at most :data:`AUTO_DOWNLOAD_GB`)
    auto_download: bool | None = None
    #: a backend that runs only with a model directory of the user's (``model=``): what to say
    #: when none is given (checked before the runtime and the files)
    needs_model: str | None = None

    @property
    def pip_line(self) -> str:
        return f"pip install 'paravox[{self.extra}]'" if self.extra else "pip install paravox"

    @property
    def download_command(self) -> str:
        return f"paravox models --download {self.name}"

    @property
    def repos(self) -> list[tuple[str, str]]:
        """``(repo id, revision)`` of every repository the model needs, base first."""
        return [(self.repo_id, self.revision)] + ([(self.adapter, self.adapter_revision)] if self.adapter else [])

    def source(self) -> str:
        """The repositories as a user reads them: ``Qwen/Qwen2.5-Omni-7B + kiiic/MNV-17-Qwen-fintune``."""
        return " + ".join(repo for repo, _ in self.repos)

    def missing_modules(self) -> list[str]:
        """The runtime modules of its extra that are not installed (found without importing them)."""
        return [m for m in self.modules if importlib.util.find_spec(m) is None]


# ---- the catalogue -------------------------------------------------------------------------

#: MNV-17's instruction: "transcribe the speech into text and mark every sound event in it"
#: (the prompt of its Qwen2.5-Omni and Qwen2-Audio inference scripts).
MNV17_PROMPT = "请将语音转录成文本，并标出其中出现的所有声音事件"

_QWEN_MODULES = ("torch", "transformers", "peft", "accelerate")
_FUNASR_MODULES = ("torch", "funasr")

# faster-whisper's own name -> repository table (faster_whisper.utils._MODELS), with the size
# of each CTranslate2 float16 conversion. All MIT.
_WHISPER: dict[str, tuple[str, float]] = {
    "tiny": ("Systran/faster-whisper-tiny", 0.08),
    "tiny.en": ("Systran/faster-whisper-tiny.en", 0.08),
    "base": ("Systran/faster-whisper-base", 0.15),
    "base.en": ("Systran/faster-whisper-base.en", 0.15),
    "small": ("Systran/faster-whisper-small", 0.49),
    "small.en": ("Systran/faster-whisper-small.en", 0.49),
    "medium": ("Systran/faster-whisper-medium", 1.5),
    "medium.en": ("Systran/faster-whisper-medium.en", 1.5),
    "large-v1": ("Systran/faster-whisper-large-v1", 3.1),
    "large-v2": ("Systran/faster-whisper-large-v2", 3.1),
    "large-v3": ("Systran/faster-whisper-large-v3", 3.1),
    "large": ("Systran/faster-whisper-large-v3", 3.1),
    "large-v3-turbo": ("mobiuslabsgmbh/faster-whisper-large-v3-turbo", 1.6),
    "turbo": ("mobiuslabsgmbh/faster-whisper-large-v3-turbo", 1.6),
    "distil-small.en": ("Systran/faster-distil-whisper-small.en", 0.34),
    "distil-medium.en": ("Systran/faster-distil-whisper-medium.en", 0.79),
    "distil-large-v2": ("Systran/faster-distil-whisper-large-v2", 1.5),
    "distil-large-v3": ("Systran/faster-distil-whisper-large-v3", 1.5),
    "distil-large-v3.5": ("distil-whisper/distil-large-v3.5-ct2", 1.5),
}
# The files faster-whisper's own download_model fetches.
_WHISPER_FILES = ("config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*")


def _whisper_entry(size: str) -> HubModel:
    repo, gb = _WHISPER[size]
    return HubModel(
        name=f"faster-whisper:{size}", kind="asr", repo_id=repo, revision="main", extra=None,
        modules=("faster_whisper",), size_gb=gb, licence="MIT",
        hardware="CPU (int8) or NVIDIA GPU (float16)" if gb < 1 else "GPU advised (float16); CPU int8 is slow",
        summary=f"Whisper {size} via faster-whisper (CTranslate2), word timestamps; no NV tags of its own",
        implementation="paravox.backends.whisper:WhisperBaseASR", required=("model.bin", "config.json"),
        allow_patterns=_WHISPER_FILES, options=(("model", size),),
        auto_download=True,  # as '--asr-model SIZE' always did
    )


_MODELS: tuple[HubModel, ...] = (
    HubModel(
        name="qwen2.5-omni-mnv17", kind="asr", repo_id="Qwen/Qwen2.5-Omni-7B", revision="main",
        adapter="kiiic/MNV-17-Qwen-fintune", extra="qwen", modules=_QWEN_MODULES, size_gb=22.4,
        licence="Apache-2.0 (Qwen2.5-Omni); adapter: see its model card",
        hardware="NVIDIA GPU, about 22 GB of memory in bf16 (the talker is not loaded); CPU only for trying",
        summary="MNV-17's Qwen2.5-Omni-7B + LoRA: transcript with the 17 MNV-17 tags inline (positions, no times)",
        # spk_dict.pt: Qwen2_5OmniForConditionalGeneration.from_pretrained reads it even without the talker
        implementation="paravox.backends.audio_llm:AudioLLMASR", required=("config.json", "spk_dict.pt"),
        options=(("variant", "qwen2.5-omni"), ("prompt", MNV17_PROMPT)),
    ),
    HubModel(
        name="qwen2-audio", kind="asr", repo_id="Qwen/Qwen2-Audio-7B-Instruct", revision="main",
        extra="qwen", modules=_QWEN_MODULES, size_gb=16.8, licence="Apache-2.0",
        hardware="NVIDIA GPU, about 17 GB of memory in bf16; CPU only for trying",
        summary="Qwen2-Audio-7B-Instruct with MNV-17's prompt (--asr-model DIR applies a LoRA such as MNV-17's)",
        implementation="paravox.backends.audio_llm:AudioLLMASR", required=("config.json",),
        options=(("variant", "qwen2-audio"), ("prompt", MNV17_PROMPT)),
    ),
    HubModel(
        name="sensevoice-small", kind="asr", repo_id="FunAudioLLM/SenseVoiceSmall",
        revision="3eb3b4eeffc2f2dde6051b853983753db33e35c3", extra="funasr", modules=_FUNASR_MODULES, size_gb=0.94,
        licence="FunASR model licence (model-license)",
        hardware="CPU (about 20x real time on 8 threads) or GPU",
        summary="SenseVoice-Small: transcript + language + emotion + one event token per utterance (no positions)",
        implementation="paravox.backends.funasr_models:SenseVoiceASR", required=("model.pt", "config.yaml"),
    ),
    HubModel(
        name="emotion2vec-plus-base", kind="emotion", repo_id="emotion2vec/emotion2vec_plus_base", revision="main",
        extra="funasr", modules=_FUNASR_MODULES, size_gb=0.4, licence="emotion2vec model licence (model-license)",
        hardware="CPU or GPU", summary="emotion2vec+ base: 9 emotion labels, utterance and frame level, embeddings",
        implementation="paravox.backends.funasr_models:Emotion2VecEmotion", required=("model.pt", "config.yaml"),
    ),
    HubModel(
        name="emotion2vec-plus-large", kind="emotion", repo_id="emotion2vec/emotion2vec_plus_large",
        revision="main", extra="funasr", modules=_FUNASR_MODULES, size_gb=1.95,
        licence="emotion2vec model licence (model-license)", hardware="CPU (slow on long audio) or GPU",
        summary="emotion2vec+ large: 9 emotion labels, utterance and frame level, embeddings",
        implementation="paravox.backends.funasr_models:Emotion2VecEmotion", required=("model.pt", "config.yaml"),
    ),
    HubModel(
        name="voc2vec", kind="classify", repo_id="alkiskoudounas/voc2vec", revision="main", extra="transformers",
        modules=("torch", "transformers"), size_gb=0.38, licence="Apache-2.0", hardware="CPU or GPU",
        summary="wav2vec 2.0 backbone pre-trained on nonverbal vocalizations, with a head of your own "
                "('paravox train isolated --backbone voc2vec'; model=DIR / --backend-model voc2vec=DIR)",
        implementation="paravox.backends.vocal_events:BackboneClassify", required=("config.json",),
        needs_model="voc2vec names vocalizations with a head trained on your clips: train one with 'paravox train "
                    "isolated --data CLIPS --backbone voc2vec -o HEAD' and give it (--backend-model voc2vec=HEAD, "
                    "or 'paravox classify --model HEAD')",
    ),
) + tuple(_whisper_entry(size) for size in _WHISPER)

CATALOGUE: dict[str, HubModel] = {m.name: m for m in _MODELS}


def get(name: str) -> HubModel:
    """The catalogue entry called ``name``; a KeyError that lists the names otherwise."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"no hub model named {name!r}; known: {', '.join(CATALOGUE)}") from None


# ---- files ---------------------------------------------------------------------------------


def hub_dir() -> Path:
    """Where hub models are kept: ``<paravox cache>/hub`` (``PARAVOX_CACHE`` moves it), the
    folder the faster-whisper sizes were already fetched into."""
    from paravox.encoder.files import cache_dir

    return cache_dir() / "hub"


_SHA = re.compile(r"^[0-9a-f]{40}$")


def _snapshot(repo_id: str, revision: str, hub: Path) -> Path | None:
    """The local snapshot folder of ``repo_id`` at ``revision`` in Hugging Face's cache layout
    (``models--org--name/refs/<branch>`` names the commit; ``snapshots/<commit>`` holds it)."""
    root = hub / ("models--" + repo_id.replace("/", "--"))
    commit = revision if _SHA.match(revision) else None
    if commit is None:
        ref = root / "refs" / revision
        if not ref.is_file():
            return None
        commit = ref.read_text().strip()
    folder = root / "snapshots" / commit
    return folder if folder.is_dir() else None


def local_paths(entry: HubModel, hub: Path | None = None) -> list[Path] | None:
    """The snapshot folder of each repository of ``entry`` (base first) when every one is
    complete on this machine, else None. Reads the file system only."""
    hub = hub_dir() if hub is None else hub
    paths = []
    for i, (repo, revision) in enumerate(entry.repos):
        folder = _snapshot(repo, revision, hub)
        if folder is None:
            return None
        required = entry.required if i == 0 else ()
        if any(not (folder / f).exists() for f in required) or not any(folder.iterdir()):
            return None
        paths.append(folder)
    return paths


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    # huggingface_hub's message carries the network error on its second line ("Got: ConnectError ...").
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    got = next((ln for ln in lines if ln.startswith("Got:")), None)
    first = got[4:].strip() if got else (lines[0] if lines else type(exc).__name__)
    return first[:160]


def download(entry: HubModel, *, hub: Path | None = None, quiet: bool = False) -> list[Path]:
    """Fetch every repository of ``entry`` into the cache (resuming a partial download; the
    hub client draws its own progress bars unless ``quiet``) and return the snapshot folders.

    Raises :class:`ModelUnavailableError` with one line when the network or the hub fails.
    """
    hub = hub_dir() if hub is None else hub
    try:
        from huggingface_hub import HfApi, snapshot_download
    except ImportError:  # pragma: no cover - faster-whisper depends on it
        raise ModelUnavailableError("downloading models needs huggingface_hub: pip install huggingface_hub") from None
    paths = []
    for i, (repo, revision) in enumerate(entry.repos):
        kwargs: dict[str, Any] = {"revision": revision, "cache_dir": str(hub), "etag_timeout": ETAG_TIMEOUT}
        if i == 0 and entry.allow_patterns:
            kwargs["allow_patterns"] = list(entry.allow_patterns)
        if quiet:
            kwargs["tqdm_class"] = _NoBar
        try:
            # One quick question first: without a network it fails at once, where the file
            # listing would retry with back-off for half a minute.
            HfApi().model_info(repo, revision=revision, timeout=ETAG_TIMEOUT)
            paths.append(Path(snapshot_download(repo, **kwargs)))
        except Exception as exc:  # noqa: BLE001 - no network, no such repo, disk full: one line for all
            raise ModelUnavailableError(
                f"{entry.name}: could not download {repo}@{revision[:12]} ({_reason(exc)}); it is about "
                f"{entry.size_gb:g} GB. On a machine with a network run '{entry.download_command}' and copy "
                f"{hub} here (or set PARAVOX_CACHE to a copy)"
            ) from None
    if local_paths(entry, hub) is None:
        raise ModelUnavailableError(
            f"{entry.name}: the download finished but {entry.repo_id} lacks {', '.join(entry.required)} "
            f"at revision {entry.revision[:12]}"
        )
    return paths


class _NoBar:  # a tqdm stand-in that draws nothing (``quiet``)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def __iter__(self):
        return iter(())

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    @classmethod
    def get_lock(cls):  # noqa: D401 - tqdm's interface
        import threading

        return threading.RLock()

    @classmethod
    def set_lock(cls, lock) -> None:
        pass


def resolve(entry: HubModel, *, hub: Path | None = None) -> list[Path]:
    """Snapshot folders of ``entry`` for running it: its extra must be installed; files not yet
    in the cache are downloaded when the model is small enough (:data:`AUTO_DOWNLOAD_GB`).

    Raises :class:`ModelUnavailableError` with one line naming the model, its size, the
    ``paravox models --download`` command and, for a missing runtime, the ``pip install`` line.
    """
    hub = hub_dir() if hub is None else hub
    missing = entry.missing_modules()
    paths = local_paths(entry, hub)
    if missing:
        files = "its files are in the cache" if paths else f"then fetch its files (about {entry.size_gb:g} GB): {entry.download_command}"
        raise ModelUnavailableError(
            f"{entry.name} needs the '{entry.extra}' extra ({', '.join(missing)} not installed): {entry.pip_line}; {files}"
        )
    if paths is not None:
        return paths
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    auto = entry.size_gb <= AUTO_DOWNLOAD_GB if entry.auto_download is None else entry.auto_download
    if not auto or offline:
        why = "offline (HF_HUB_OFFLINE)" if offline else f"about {entry.size_gb:g} GB, not fetched on first use"
        raise ModelUnavailableError(
            f"{entry.name} ({entry.source()}, {why}) is not in paravox's cache {hub}: fetch it with "
            f"'{entry.download_command}' (on a machine with a network, then copy {hub} here)"
        )
    return download(entry, hub=hub)


def status(entry: HubModel, hub: Path | None = None) -> dict[str, Any]:
    """What ``paravox models`` prints for ``entry``: where it comes from, what it needs, whether
    its runtime and its files are on this machine."""
    paths = local_paths(entry, hub)
    return {
        "name": entry.name,
        "kind": entry.kind,
        "source": entry.source(),
        "revision": entry.revision,
        "extra": entry.extra,
        "runtime_installed": not entry.missing_modules(),
        "size_gb": entry.size_gb,
        "licence": entry.licence,
        "hardware": entry.hardware,
        "present": paths is not None,
        "paths": [str(p) for p in paths] if paths else [],
        "summary": entry.summary,
    }
