"""Backends side by side: ``paravox bench nvasr|emotion|classify --backends A,B,...``.

Every backend named runs on the same clips and is scored by the same code as the task's own
benchmark; the answer is one markdown table, a row per backend, with the field's figures and
what running it cost:

* **RTF**: processing seconds over audio seconds, the clips one after another (model loading
  apart: ``load s``);
* **peak RSS**: the most resident memory of the process that ran the backend (interpreter,
  runtime, model and inference together);
* **GPU peak**: torch's peak allocated CUDA memory, when the backend ran on torch with CUDA
  (CTranslate2's and FunASR's own allocators outside torch are not seen).

Each backend runs in a fresh Python process of its own (``python -m paravox.bench.side_by_side``,
the job on stdin, the answer in a file), so that one backend's memory is not counted in the
next one's, and a backend that cannot run (its extra not installed, its files absent on an
offline machine, a crash, a GPU out of memory) gives a row that says why instead of ending the
run. The scoring happens back in the calling process.

The name ``paravox`` is the offline default of each task: ``whisper-base`` with
``paravox-events`` (nvasr), ``paravox-emotion`` (emotion), the shipped isolated classifier
(classify).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["TASKS", "DEFAULT", "BackendRun", "run_backend", "check_backends", "compare_nvasr", "compare_emotion",
           "compare_classify"]

TASKS = ("nvasr", "emotion", "classify")
#: The name of the offline default in ``--backends``.
DEFAULT = "paravox"
#: What ``paravox`` stands for, per task (the registry's kind and name).
_DEFAULT_BACKEND = {"nvasr": ("asr", "whisper-base"), "emotion": ("emotion", "paravox-emotion"),
                    "classify": ("classify", "paravox-classify")}
_KIND = {"nvasr": "asr", "emotion": "emotion", "classify": "classify"}


@dataclass
class BackendRun:
    """What one backend produced on the clips, and what it cost."""

    backend: str
    ok: bool
    error: str | None = None  #: why it could not run (one line)
    outputs: dict[str, Any] = field(default_factory=dict)  #: clip id -> its answer (tagged text or label)
    failed: dict[str, str] = field(default_factory=dict)  #: clip id -> why that clip failed
    covered: list[str] = field(default_factory=list)  #: nvasr: the tags the event detector can emit
    audio_seconds: float = 0.0
    process_seconds: float = 0.0
    load_seconds: float = 0.0
    peak_rss_mb: float | None = None
    gpu_peak_mb: float | None = None
    device: str = "cpu"

    @property
    def rtf(self) -> float | None:
        return self.process_seconds / self.audio_seconds if self.audio_seconds > 0 else None

    def cost(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("outputs", "failed", "covered"):
            d.pop(k)
        d["rtf"] = self.rtf
        d["n_failed"] = len(self.failed)
        return d


def check_backends(task: str, backends: Sequence[str]) -> list[str]:
    """The names of ``backends`` (``--backends``), checked: one or more, no repeats, each a
    registered backend of the task's kind or ``paravox``; a ValueError names the unknown ones
    and what there is. Nothing heavy is imported (hub models are listed, not loaded)."""
    from paravox.backends import registry

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    names = [b.strip() for b in backends if b.strip()]
    if not names:
        raise ValueError("--backends needs one or more backend names, e.g. paravox,sensevoice-small")
    repeated = sorted({b for b in names if names.count(b) > 1})
    if repeated:
        raise ValueError(f"--backends names {', '.join(repeated)} twice")
    known = set(registry.available(_KIND[task])) | {DEFAULT}
    unknown = [b for b in names if b not in known]
    if unknown:
        raise ValueError(f"no {_KIND[task]} backend named {', '.join(unknown)}; available: {', '.join(sorted(known))}")
    return names


# ---- one backend, in a process of its own ------------------------------------------------------------


def run_backend(task: str, backend: str, clips: Sequence[tuple[str, str]], options: dict[str, Any] | None = None,
                *, quiet: bool = True, timeout: float | None = None) -> BackendRun:
    """Run ``backend`` on ``clips`` (``(id, audio path)``) in a fresh process and return what it
    wrote and cost. Never raises for the backend's sake: a failure is ``ok=False`` with the reason."""
    job = {"task": task, "backend": backend, "clips": [list(c) for c in clips], "options": options or {},
           "quiet": quiet}
    with tempfile.TemporaryDirectory(prefix="paravox-bench-") as tmp:
        answer = Path(tmp) / "answer.json"
        job["answer"] = str(answer)
        try:
            proc = subprocess.run([sys.executable, "-m", "paravox.bench.side_by_side"], input=json.dumps(job),
                                  text=True, stdout=subprocess.DEVNULL, stderr=None if not quiet else subprocess.PIPE,
                                  timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        except subprocess.TimeoutExpired:
            return BackendRun(backend, False, f"did not finish within {timeout:g} s")
        if answer.is_file():
            return BackendRun(**json.loads(answer.read_text(encoding="utf-8")))
        tail = (proc.stderr or "").strip().splitlines()[-1:] if quiet else []
        why = f"its process ended with exit status {proc.returncode}" + (f" ({tail[0][:200]})" if tail else "")
        return BackendRun(backend, False, why)


def _builder(task: str, backend: str, options: dict[str, Any]) -> tuple[Callable[[str, str], tuple[Any, float]], list[str]]:
    """``(predict, covered)``: ``predict(audio path, id)`` -> (answer, audio seconds)."""
    from paravox.audio import SAMPLE_RATE, load_audio
    from paravox.backends import registry

    kind, default = _DEFAULT_BACKEND[task]
    name = default if backend == DEFAULT else backend
    model = (options.get("models") or {}).get(backend)
    threads = int(options.get("threads") or 0)
    if task == "nvasr":
        from paravox.analyzer import Analyzer
        from paravox.bench.vocal_events import covered_tags
        from paravox.options import AnalyzeOptions

        opts = AnalyzeOptions.from_kwargs(
            asr=name, asr_model=model, events=options.get("events", "paravox-events"),
            events_model=options.get("events_model"), language=options.get("language"),
            filler_words=bool(options.get("filler_words")), laugh_words=options.get("laugh_words", True),
            emotion=None, threads=threads, device=options.get("device") or "cpu")
        analyzer = Analyzer(opts)

        def predict_text(path: str, ident: str) -> tuple[Any, float]:
            analysis = analyzer.analyze(path, name=ident)
            return analysis.tagged_text(), analysis.duration

        return predict_text, covered_tags(analyzer)
    built = registry.create(kind, name, **({"model": model} if model else {}))
    if task == "emotion":
        def predict_emotion(path: str, ident: str) -> tuple[Any, float]:
            audio = load_audio(path, name=ident)
            whole, _ = built.score(audio.samples, SAMPLE_RATE, [])
            return (whole.label if whole is not None else None), len(audio.samples) / SAMPLE_RATE

        return predict_emotion, []

    def predict_label(path: str, ident: str) -> tuple[Any, float]:
        audio = load_audio(path, name=ident)
        res = built.classify((audio.samples, SAMPLE_RATE), name=ident)
        return res.label, len(audio.samples) / SAMPLE_RATE

    return predict_label, []


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes on macOS, KiB on Linux


def _gpu() -> tuple[str, float | None]:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return "cpu", None
    return "cuda", torch.cuda.max_memory_allocated() / 2**20


def _work(job: dict[str, Any]) -> BackendRun:
    """In the backend's own process: build it, run every clip, measure."""
    from paravox.errors import ParavoxError

    backend = job["backend"]
    started = time.perf_counter()
    try:
        predict, covered = _builder(job["task"], backend, job["options"])
    except ParavoxError as exc:
        return BackendRun(backend, False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - a backend that cannot be built is a row, not a crash
        return BackendRun(backend, False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip())
    # load s: building the backend; what a runtime loads only on first use falls in the first clip
    run = BackendRun(backend, True, covered=covered, load_seconds=time.perf_counter() - started)
    from tqdm import tqdm

    for ident, path in tqdm(job["clips"], unit="clip", desc=backend, file=sys.stderr,
                            disable=job.get("quiet", True) or not sys.stderr.isatty()):
        t0 = time.perf_counter()
        try:
            answer, seconds = predict(path, ident)
        except Exception as exc:  # noqa: BLE001 - tolerant batch: the clip is recorded as failed, the run goes on
            run.failed[ident] = f"{type(exc).__name__}: {exc}"
            continue
        run.process_seconds += time.perf_counter() - t0
        run.audio_seconds += seconds
        run.outputs[ident] = answer
    if run.failed and not run.outputs:
        run.ok, run.error = False, f"every clip failed, e.g. {next(iter(run.failed.values()))}"
    run.device, run.gpu_peak_mb = _gpu()
    run.peak_rss_mb = _peak_rss_mb()
    return run


def _main() -> int:
    job = json.loads(sys.stdin.read())
    run = _work(job)
    Path(job["answer"]).write_text(json.dumps(asdict(run), ensure_ascii=False), encoding="utf-8")
    return 0


# ---- the tasks ---------------------------------------------------------------------------------------


def _runs(task: str, backends: Sequence[str], clips: Sequence[tuple[str, str]], options: dict[str, Any],
          quiet: bool, log: Callable[[str], None] | None) -> list[BackendRun]:
    runs = []
    for backend in backends:
        if log:
            log(f"{backend}: {len(clips)} clips")
        run = run_backend(task, backend, clips, options, quiet=quiet)
        if log:
            log(f"{backend}: " + (f"done, RTF {run.rtf:.3f}" if run.ok and run.rtf is not None else f"not run: {run.error}"))
        runs.append(run)
    return runs


def _scored(runs: Sequence[BackendRun], score: Callable[[BackendRun], tuple[dict[str, Any], list[str]]],
            ) -> tuple[dict[str, Any], list[tuple[BackendRun, list[str]]]]:
    """``score(run)`` -> (figures, table cells) for every backend that ran; an empty row for the others."""
    per_backend: dict[str, Any] = {}
    table_rows: list[tuple[BackendRun, list[str]]] = []
    for run in runs:
        figures, cells = score(run) if run.ok else ({}, [])
        if run.ok:
            per_backend[run.backend] = figures
        table_rows.append((run, cells))
    return per_backend, table_rows


def _cost_cells(run: BackendRun) -> str:
    rtf = "n/a" if run.rtf is None else f"{run.rtf:.3f}"
    rss = "n/a" if run.peak_rss_mb is None else f"{run.peak_rss_mb:,.0f}"
    gpu = "-" if run.gpu_peak_mb is None else f"{run.gpu_peak_mb:,.0f}"
    return f"{rtf} | {run.load_seconds:.1f} | {rss} | {gpu} |"


def _table(title: str, figure_names: Sequence[str], rows: Sequence[tuple[BackendRun, Sequence[str]]],
           notes: Sequence[str] = ()) -> str:
    head = ["backend", *figure_names, "RTF", "load s", "peak RSS MB", "GPU peak MB"]
    lines = [title, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run, cells in rows:
        if run.ok:
            failed = f" ({len(run.failed)} clips failed)" if run.failed else ""
            lines.append(f"| {run.backend}{failed} | " + " | ".join(cells) + " | " + _cost_cells(run))
        else:
            lines.append(f"| {run.backend} | not run: {run.error} |" + " |" * (len(head) - 2))
    lines += ["", *notes] if notes else []
    return "\n".join(lines)


def _result(task: str, data: Any, runs: Sequence[BackendRun], per_backend: dict[str, Any], markdown: str,
            **extra: Any) -> dict[str, Any]:
    return {
        "task": task, "data": data, "date": datetime.date.today().isoformat(),
        "backends": [{**r.cost(), **({"figures": per_backend[r.backend]} if r.backend in per_backend else {}),
                      **({"outputs": r.outputs} if r.ok else {}), **({"failed_clips": r.failed} if r.failed else {})}
                     for r in runs],
        "failed": [r.backend for r in runs if not r.ok],
        **extra,
        "markdown": markdown,
    }


_COST_NOTE = ("RTF: processing seconds / audio seconds, clips one after another, loading apart (load s). Peak RSS: the "
              "backend's own process (interpreter, runtime, model, inference). GPU peak: torch's CUDA allocator, '-' "
              "when the backend did not run on torch with CUDA.")


def compare_nvasr(data: str | Path | Sequence[str | Path], backends: Sequence[str], *, events: str | None = "paravox-events",
                  events_model: str | None = None, language: str | None = None, filler_words: bool = False,
                  laugh_words: bool = True, models: dict[str, str] | None = None, threads: int = 0,
                  device: str | None = None, quiet: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``backends`` (speech recognisers; ``paravox`` = ``whisper-base``) on every clip of the
    NV-tagged sets ``data``, scored as ``paravox bench nvasr`` scores: Joint CER, text CER, NV
    exact match, tag F1, position-aware tag F1 and Track1Score over all the clips (the full
    per-group and per-source figures of each backend are in its ``figures``). A recogniser that
    writes its own tags runs without the event detector; the others with ``events``."""
    from paravox.bench.vocal_events import nvasr_figures, nvasr_rows

    folders = [Path(data)] if isinstance(data, (str, Path)) else [Path(d) for d in data]
    rows = nvasr_rows(folders)
    names = check_backends("nvasr", backends)
    options = {"events": events, "events_model": events_model, "language": language, "filler_words": filler_words,
               "laugh_words": laugh_words, "models": models or {}, "threads": threads, "device": device}
    runs = _runs("nvasr", names, [(r["id"], r["_audio"]) for r in rows], options, quiet, log)

    def score(run: BackendRun) -> tuple[dict[str, Any], list[str]]:
        hyps = {r["id"]: run.outputs.get(r["id"], "") for r in rows}  # a failed clip counts as an empty transcript
        fig = nvasr_figures(rows, hyps, run.covered)
        fig.pop("table")
        return fig, [f"{100 * fig['joint_cer']:.2f}", f"{100 * fig['text_cer']:.2f}", f"{100 * fig['nv_exact_match']:.1f}",
                     f"{100 * fig['tag_f1']:.1f}", f"{100 * fig['position_f1']:.1f}", f"{fig['track1_score']:.1f}"]

    per_backend, table_rows = _scored(runs, score)
    title = (f"NV-ASR side by side on {', '.join(str(f) for f in folders)}: {len(rows)} clips; "
             f"recognisers without tags of their own run with {events or 'no'} events")
    markdown = _table(title, ["Joint CER", "text CER", "NV exact match", "tag F1", "position F1", "Track1Score"],
                      table_rows, [_COST_NOTE, "A failed clip counts as an empty transcript."])
    return _result("nvasr", [str(f) for f in folders], runs, per_backend, markdown, n=len(rows),
                   options={k: v for k, v in options.items() if k != "models"}, models=models or {})


def compare_emotion(data: str | Path, backends: Sequence[str], *, label_map: str | None = None,
                    models: dict[str, str] | None = None, quiet: bool = True,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``backends`` (emotion models; ``paravox`` = ``paravox-emotion``) on every clip of the
    corpus folder ``data`` (``manifest.jsonl``: id, audio, label): the file-level emotion of each
    clip against its label, mapped to the nine emotion2vec labels by ``label_map`` (default: the
    built-in map named like the folder, casia/emodb/ravdess, where there is one); UA, WA,
    macro-F1 and weighted F1 as ``paravox eval emotion`` computes them. A clip without a
    file-level emotion (no speech found) counts as wrong."""
    from paravox.evaluation.classification import evaluate_classification
    from paravox.evaluation.label_maps import apply_label_map, builtin_label_maps, load_label_map
    from paravox.speech_emotion.model import EMOTION2VEC_LABELS
    from paravox.training.clips import manifest_rows

    folder = Path(data)
    names = check_backends("emotion", backends)
    if label_map is None and folder.name in builtin_label_maps():
        label_map = folder.name
    lm = load_label_map(label_map) if label_map else None
    rows = manifest_rows(folder / "manifest.jsonl")
    for i, r in enumerate(rows, 1):
        if not {"id", "audio", "label"} <= r.keys():
            raise ValueError(f"{folder / 'manifest.jsonl'}:{i}: each line needs 'id', 'audio' and 'label'")
    refs = {r["id"]: str(r["label"]) for r in rows}
    runs = _runs("emotion", names, [(r["id"], str(folder / r["audio"])) for r in rows], {"models": models or {}},
                 quiet, log)

    def score(run: BackendRun) -> tuple[dict[str, Any], list[str]]:
        hyps = {k: str(run.outputs.get(k) or "(no emotion)") for k in refs}
        r2, h2, mapping = apply_label_map(refs, hyps, lm, known_labels=EMOTION2VEC_LABELS)
        rep = evaluate_classification(list(r2.values()), [h2[k] for k in r2])
        silent = sum(1 for k in r2 if h2[k] == "(no emotion)")
        return ({**rep.to_dict(), **mapping.to_dict(), "no_emotion": silent},
                [f"{100 * rep.ua:.1f}", f"{100 * rep.wa:.1f}", f"{100 * rep.macro_f1:.1f}", f"{100 * rep.weighted_f1:.1f}",
                 str(silent)])

    per_backend, table_rows = _scored(runs, score)
    title = (f"Emotion side by side on {folder}: {len(rows)} clips, the file-level emotion of each"
             + (f"; labels mapped by {lm.describe()}" if lm else ""))
    markdown = _table(title, ["UA", "WA", "macro-F1", "weighted F1", "no emotion"], table_rows,
                      [_COST_NOTE, "no emotion: clips the backend gave no file-level emotion (counted wrong)."])
    return _result("emotion", str(folder), runs, per_backend, markdown, n=len(rows), label_map=label_map,
                   models=models or {})


def compare_classify(data: str | Path, backends: Sequence[str], *, models: dict[str, str] | None = None,
                     quiet: bool = True, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``backends`` (vocalization classifiers; ``paravox`` = the shipped isolated classifier,
    ``voc2vec`` = a head from ``paravox train isolated --backbone voc2vec``, given by ``models``)
    on every clip of ``data`` (``manifest.jsonl``: audio, tag or label): UAR, macro-F1 and
    accuracy (voc2vec's protocol), an answer of ``none`` counting as wrong. Score on clips no
    backend was trained on: the shipped classifier was trained on the data pack's Deeply sample."""
    from paravox.evaluation.classification import evaluate_classification
    from paravox.training.clips import clip_label, manifest_rows

    folder = Path(data)
    names = check_backends("classify", backends)
    rows = manifest_rows(folder / "manifest.jsonl")
    for r in rows:
        r.setdefault("id", r["audio"])
    refs = {r["id"]: clip_label(r) for r in rows}
    runs = _runs("classify", names, [(r["id"], str(folder / r["audio"])) for r in rows], {"models": models or {}},
                 quiet, log)

    def score(run: BackendRun) -> tuple[dict[str, Any], list[str]]:
        preds = [str(run.outputs.get(k) or "(failed)") for k in refs]
        rep = evaluate_classification(list(refs.values()), preds)
        return ({**rep.to_dict(), "called_none": preds.count("none")},
                [f"{100 * rep.uar:.1f}", f"{100 * rep.macro_f1:.1f}", f"{100 * rep.accuracy:.1f}", str(preds.count("none"))])

    per_backend, table_rows = _scored(runs, score)
    title = f"Vocalization classification side by side on {folder}: {len(rows)} clips"
    markdown = _table(title, ["UAR", "macro-F1", "accuracy", "called none"], table_rows,
                      [_COST_NOTE, "Score on clips no backend was trained on (the shipped classifier was trained on the "
                       "data pack's Deeply sample: scored there it shows training fit, not accuracy)."])
    return _result("classify", str(folder), runs, per_backend, markdown, n=len(rows), models=models or {})


if __name__ == "__main__":
    raise SystemExit(_main())
