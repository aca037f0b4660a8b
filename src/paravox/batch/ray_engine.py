"""The Ray engine: the same per-item function on Ray Data, with a pool of actors.

``paravox batch ... --engine ray [--address ADDR]`` builds a Ray Dataset with one row per
bundle of inputs (``(id, path, language)`` each; the local engine's bundles, see
:func:`paravox.batch.runner.bundles`), maps it through :class:`RayItemAnalyzer` (a callable class, so each actor loads the
models once) and streams the finished JSONL lines back to this process, which alone writes
the results file. The resume guarantee is therefore the local engine's: a line is on disk
before it counts, and a killed job resumes from the ids in the file.

Paths are opened by the actors, so on a multi-node cluster they must be visible on every
node (a shared filesystem), and paravox (with any ``--plugin`` module) must be installed
in the cluster's Python. Ray is optional: ``pip install 'paravox[ray]'``.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any, Iterable, Iterator

from paravox.batch.item import FatalBatchError, ItemResult, WorkerSpec
from paravox.errors import ParavoxError
from paravox.inputs import InputItem

__all__ = ["RayItemAnalyzer", "RayNotInstalledError", "run_ray"]

INSTALL_HINT = "pip install 'paravox[ray]'"
#: At most this many blocks: one input per block streams each result back as soon as it is done.
MAX_BLOCKS = 10_000


class RayNotInstalledError(ParavoxError, ImportError):
    """Ray (with Ray Data) is not installed; the message gives the pip line."""


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the part we need
    except ImportError as exc:
        raise RayNotInstalledError(f"--engine ray needs Ray Data ({exc.name} is missing): {INSTALL_HINT}") from None
    return ray


class RayItemAnalyzer:
    """A Ray Data callable class: built once per actor, it maps batches of bundle rows
    (``items``: a JSON list of ``[key, source, language]``) to one row per input.

    The models load once per actor, in one child process of the actor
    (:class:`~paravox.batch.local.IsolatedAnalyzer`): an input that crashes it is recorded as
    ``WorkerCrashed``, as with the local engine, instead of killing the actor, which Ray
    would restart and retry on the same input for ever.
    """

    def __init__(self, options: dict[str, Any], plugins: tuple[str, ...] = ()) -> None:
        from paravox.batch.local import IsolatedAnalyzer

        self._analyze = IsolatedAnalyzer(WorkerSpec(options=options, plugins=tuple(plugins)))

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        out: dict[str, list] = {"key": [], "line": [], "ok": [], "audio_seconds": [], "message": [], "fatal": [],
                               "peak_rss_mb": []}
        for bundle in batch["items"]:
            items = [InputItem(str(key), str(source), str(language) if language else None)
                     for key, source, language in json.loads(str(bundle))]
            try:
                results, fatal = self._analyze.many(items), False
            except FatalBatchError as exc:
                # Sent back as data: the driver stops the job with this message. Raised here,
                # it would reach the driver buried in Ray's own exception wrappers.
                results, fatal = [ItemResult(items[0].key, "", ok=False, message=str(exc))], True
            for result in results:
                out["key"].append(result.key)
                out["line"].append(result.line)
                out["ok"].append(result.ok)
                out["audio_seconds"].append(float(result.audio_seconds))
                out["message"].append(result.message)
                out["fatal"].append(fatal)
                out["peak_rss_mb"].append(float(result.peak_rss_mb))
        return out


def run_ray(
    work: Iterable[list[InputItem]],
    spec: WorkerSpec,
    *,
    workers: int | None = None,
    address: str | None = None,
    threads_per_worker: int = 1,
) -> Iterator[ItemResult]:
    """Analyse the bundles of ``work`` on Ray; yields one result per item as each bundle finishes (in any order).

    ``address`` is passed to ``ray.init`` (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``);
    None connects to the Ray this process already runs, or starts a local one. ``workers``
    actors are started (default: the cluster's CPUs / ``threads_per_worker``).
    """
    # One row per bundle (the same bundles as the local engine's, so both give the same lines).
    rows = [{"items": json.dumps([[item.key, item.source, item.language] for item in bundle])} for bundle in work]
    if not rows:
        return
    ray = import_ray()
    started_here = False
    if not ray.is_initialized():
        if address:
            check_reachable(address)
        kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
        if address is None:
            kwargs["include_dashboard"] = False
        ray.init(address=address, **kwargs)
        started_here = True
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours is on the command line
        context.print_on_execution_start = False
        context.enable_auto_log_stats = False
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        if workers is None:
            cpus = ray.cluster_resources().get("CPU", 1)
            workers = max(1, int(cpus // max(1, threads_per_worker)))
        workers = max(1, min(workers, len(rows)))
        blocks = min(len(rows), MAX_BLOCKS)
        dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            RayItemAnalyzer,
            fn_constructor_kwargs={"options": spec.options, "plugins": tuple(spec.plugins)},
            batch_size=max(1, math.ceil(len(rows) / blocks)),
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=max(1, threads_per_worker),
        )
        try:
            for row in dataset.iter_rows():
                if row["fatal"]:
                    raise FatalBatchError(str(row["message"]))
                yield ItemResult(
                    key=str(row["key"]),
                    line=str(row["line"]),
                    ok=bool(row["ok"]),
                    audio_seconds=float(row["audio_seconds"]),
                    message=str(row["message"]),
                    peak_rss_mb=float(row["peak_rss_mb"]),
                )
        except FatalBatchError:
            raise
        except Exception as exc:  # a failure inside an actor arrives wrapped in Ray's errors
            raise FatalBatchError(_ray_failure(exc)) from None
    finally:
        if started_here:
            ray.shutdown()


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast, with the fix, when nothing listens at ``HOST:PORT`` (Ray itself retries for minutes).

    ``auto`` and other forms that are not ``[ray://]HOST:PORT`` are left to Ray.
    """
    import socket

    target = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise FatalBatchError(
            f"no Ray cluster answers at {address} ({reason}); start one with 'ray start --head', "
            "check --address, or leave it out to run on a local Ray"
        ) from None


def _ray_failure(exc: BaseException) -> str:
    """The innermost useful message of a Ray error (a FatalBatchError raised in an actor)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, FatalBatchError) or type(seen).__name__ == "FatalBatchError":
            return str(seen)
        cause = getattr(seen, "cause", None)
        seen = cause if isinstance(cause, BaseException) else seen.__cause__
    text = str(exc).strip().splitlines()
    return f"the Ray job failed: {type(exc).__name__}: {text[-1] if text else ''}"
