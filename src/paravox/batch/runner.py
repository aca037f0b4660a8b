"""A batch job from start to end: check the results file, skip what is done, run an engine, write.

>>> from paravox.batch import run_batch, list_inputs          # doctest: +SKIP
>>> summary = run_batch(list_inputs(["corpus/"]), "results.jsonl", workers=2, resume=True)  # doctest: +SKIP
>>> summary.failed_total                                       # doctest: +SKIP
0
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from paravox.batch.item import FatalBatchError, ItemResult, WorkerSpec, import_plugins
from paravox.batch.writer import ResultWriter, ResumeState, drop_error_lines, read_results
from paravox.errors import ParavoxError
from paravox.inputs import InputItem

__all__ = ["BatchSummary", "OutputExistsError", "ENGINES", "bundles", "open_results", "run_batch"]

ENGINES = ("local", "ray")


class OutputExistsError(ParavoxError, FileExistsError):
    """The results file already holds results and ``resume`` was not asked for."""


@dataclass
class BatchSummary:
    total: int  #: inputs in the job
    skipped: int  #: already in the results file when the job started (``resume``)
    analysed: int  #: analysed by this run
    failed: int  #: recorded as errors by this run
    failed_total: int  #: inputs of this job whose line in the file is an error, earlier runs included
    audio_seconds: float  #: audio analysed by this run
    elapsed: float  #: wall-clock seconds of this run
    repaired_bytes: int = 0  #: bytes of a torn last line cut off before resuming
    other_ids: int = 0  #: lines in the file whose ids are not inputs of this job (kept)
    #: options that differ from those the file's earlier lines were made with: name -> (then, now)
    changed_options: dict[str, tuple] = field(default_factory=dict)
    workers: int | None = None  #: local worker processes started (None: Ray chose)
    retried: int = 0  #: inputs whose error line was removed to analyse them again (``retry_errors``)
    peak_worker_rss_mb: float = 0.0  #: the largest peak resident memory of one worker process (0: not known)

    @property
    def clips_per_second(self) -> float:
        """Inputs analysed by this run per second of wall clock (start-up included)."""
        return self.analysed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def audio_hours_per_hour(self) -> float:
        """Hours of audio analysed per hour of wall clock (start-up included)."""
        return self.audio_seconds / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.failed_total == 0


def open_results(output: str | os.PathLike, *, resume: bool) -> ResumeState:
    """Check that ``output`` may be written; with ``resume``, read (and repair) what it holds."""
    path = Path(output)
    if path.is_dir():
        raise OutputExistsError(f"{output} is a folder; give a file name such as {Path(output) / 'results.jsonl'}")
    if not resume:
        if path.exists() and path.stat().st_size > 0:
            raise OutputExistsError(
                f"{output} already exists and holds results; pass --resume to skip the inputs it has "
                "and add the rest, or remove it to start over"
            )
        return ResumeState()
    return read_results(path)


def check_backends(options: dict, plugins: Sequence[str] = ()) -> None:
    """Fail before any worker starts when a backend name is unknown (it would fail every input)."""
    from paravox.backends import registry

    import_plugins(tuple(plugins))
    for kind in ("asr", "events", "emotion"):
        name = options.get(kind)
        if name:
            available = registry.available(kind)
            if name not in available:
                have = ", ".join(sorted(available)) or "none installed yet"
                raise FatalBatchError(f"no {kind} backend named {name!r}; available: {have}")


#: Options that do not change the results (how fast, not what).
#: (``input_language``: a manifest line's own language, recorded on its line, not a run option.)
_NEUTRAL_OPTIONS = {"threads", "elapsed_seconds", "input_language"}


def changed_options(then: dict, now: dict, prefix: str = "") -> dict[str, tuple]:
    """Options (flattened, ``transcribe.language``) whose values differ: name -> (then, now).

    >>> changed_options({"asr": "a", "threads": 1, "transcribe": {"language": None}},
    ...                 {"asr": "a", "threads": 2, "transcribe": {"language": "en"}})
    {'transcribe.language': (None, 'en')}
    """
    out: dict[str, tuple] = {}
    for key in sorted(set(then) | set(now)):
        if key in _NEUTRAL_OPTIONS:
            continue
        a, b = then.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.update(changed_options(a, b, f"{prefix}{key}."))
        elif a != b and not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and list(a) == list(b)):
            out[f"{prefix}{key}"] = (a, b)
    return out


def bundles(items: list[InputItem], pack: int = 1) -> list[list[InputItem]]:
    """The inputs in order, ``pack`` at a time: the units a worker analyses together.

    >>> [[i.key for i in b] for b in bundles([InputItem(k, k) for k in "abcde"], 2)]
    [['a', 'b'], ['c', 'd'], ['e']]
    """
    pack = max(1, int(pack))
    return [items[i : i + pack] for i in range(0, len(items), pack)]


def run_batch(
    items: Sequence[InputItem],
    output: str | os.PathLike,
    *,
    options=None,
    engine: str = "local",
    workers: int | str | None = None,
    resume: bool = False,
    retry_errors: bool = False,
    address: str | None = None,
    plugins: Sequence[str] = (),
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
) -> BatchSummary:
    """Analyse every item not yet in ``output`` and append one JSONL line per item to it.

    ``options`` is an :class:`~paravox.options.AnalyzeOptions` (default options when None).
    ``workers``: processes for ``engine="local"`` (default 1), actors for ``"ray"`` (default:
    the cluster's CPUs); ``"auto"``: as many local processes as cores and memory allow
    (:func:`~paravox.batch.sizing.auto_workers`), the default on Ray. When ``options.threads`` is 0, each local worker gets an equal share
    of this machine's cores and each Ray actor one core. ``on_start(total, done)`` is called
    once before the work starts, ``on_result(result)`` after each line is on disk.

    ``retry_errors`` (with ``resume``) analyses again the inputs of this job whose line is an
    error: their error lines are removed first (:func:`~paravox.batch.writer.drop_error_lines`,
    an atomic rewrite), so each id still ends with exactly one line.

    Raises :class:`OutputExistsError` when ``output`` has results and ``resume`` is False,
    :class:`~paravox.batch.writer.ResumeError` when it cannot be resumed, and
    :class:`~paravox.batch.item.FatalBatchError` when the models cannot be loaded.
    """
    from paravox.batch.sizing import auto_workers
    from paravox.machine import available_cores
    from paravox.options import AnalyzeOptions

    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    options = options or AnalyzeOptions()
    if workers == "auto":
        workers = auto_workers(options.threads) if engine == "local" else None
    elif isinstance(workers, str):
        raise ValueError(f"workers must be a whole number or 'auto', got {workers!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if retry_errors and not resume:
        raise ValueError("retry_errors re-runs the failed inputs of an existing results file; it needs resume=True")
    started = time.perf_counter()
    state = open_results(output, resume=resume)
    keys = {item.key for item in items}
    retried = 0
    if retry_errors:
        retry = state.failed & keys
        if retry:
            check_backends(options.to_dict(), plugins)  # a bad backend name changes nothing in the file
            retried = len(retry)
            drop_error_lines(output, retry)
            state.done -= retry
            state.failed -= retry
    pending = [item for item in items if item.key not in state.done]
    # Inputs go to the workers in bundles of options.pack (the short ones of a bundle share the
    # recogniser's windows). The bundles are cut from the whole job, not from what is left of it,
    # and a bundle with any input still to do is analysed whole (the lines of its inputs already
    # in the file are not written again): a resumed job packs every input with the same companions
    # as an uninterrupted one, so it writes the same lines.
    work = [b for b in bundles(list(items), options.pack) if any(item.key not in state.done for item in b)]
    summary = BatchSummary(
        total=len(items),
        skipped=len(items) - len(pending),
        analysed=0,
        failed=0,
        failed_total=len(state.failed & keys),
        audio_seconds=0.0,
        elapsed=0.0,
        repaired_bytes=state.repaired_bytes,
        other_ids=len(state.done - keys),
        retried=retried,
    )
    if pending:
        check_backends(options.to_dict(), plugins)
    if engine == "local":
        workers = workers or 1
        summary.workers = min(workers, len(work)) if pending else 0
        threads = options.threads or max(1, available_cores() // workers)
    else:
        threads = options.threads or 1
    spec = WorkerSpec(options=options.with_overrides(threads=threads).to_dict(), plugins=tuple(plugins))
    if state.options is not None and pending:
        summary.changed_options = changed_options(state.options, spec.options)
    if on_start is not None:
        on_start(summary.total, summary.skipped)
    if not pending:
        summary.elapsed = time.perf_counter() - started
        return summary

    if engine == "local":
        from paravox.batch.local import run_local

        results = run_local(work, spec, workers=workers)
    else:
        from paravox.batch.ray_engine import run_ray

        results = run_ray(work, spec, workers=workers, address=address, threads_per_worker=threads)

    with ResultWriter(output) as out:
        try:
            for result in results:
                if result.key in state.done:
                    continue  # analysed again only as a companion in its bundle; its line is kept
                out.write(result.line)
                summary.peak_worker_rss_mb = max(summary.peak_worker_rss_mb, result.peak_rss_mb)
                if result.ok:
                    summary.analysed += 1
                    summary.audio_seconds += result.audio_seconds
                else:
                    summary.failed += 1
                    summary.failed_total += 1
                if on_result is not None:
                    on_result(result)
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # stop the workers now, not when the generator is collected
    summary.elapsed = time.perf_counter() - started
    return summary
