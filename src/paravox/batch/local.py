"""The local engine: ``workers`` processes on this machine, each loading the models once.

The parent hands out a bundle of inputs at a time to each worker over a pipe (one input, or
``pack`` of them that share the recogniser's windows, see :func:`paravox.batch.runner.bundles`) and gets back the
finished JSONL lines; only the parent writes the results file, so two workers can never
interleave or repeat a line. Workers are started with ``spawn`` (no state shared with
the parent). A worker that dies in the middle of an input (a crash in a native decoder,
the kernel's OOM killer) costs only that input: it is recorded as a ``WorkerCrashed``
error and a fresh worker takes its place. A bundle whose worker dies is handed out again
one input at a time, so the crash still costs only the input that caused it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from collections import deque
from dataclasses import replace
from multiprocessing.connection import wait
from typing import Iterable, Iterator

from paravox.batch.item import FatalBatchError, ItemAnalyzer, ItemResult, WorkerSpec, error_line
from paravox.inputs import InputItem

__all__ = ["IsolatedAnalyzer", "WorkerCrashed", "run_local"]

#: Give up when this many inputs in a row kill their worker: something is wrong beyond the inputs.
MAX_CRASHES_IN_A_ROW = 5


class WorkerCrashed(RuntimeError):
    """The worker process died while analysing this input."""


def run_local(work: Iterable[list[InputItem]], spec: WorkerSpec, *, workers: int = 1) -> Iterator[ItemResult]:
    """Analyse the bundles of ``work`` (see :func:`paravox.batch.runner.bundles`) on ``workers`` processes; yields one
    result per item as each bundle finishes.

    Raises :class:`FatalBatchError` when the models cannot be loaded. Closing the iterator early
    (or an exception in the caller) stops the workers.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    ctx = mp.get_context("spawn")
    pending = deque(list(bundle) for bundle in work)
    pool: list[_Worker] = []
    crashes_in_a_row = 0
    clean_exit = False
    try:
        for _ in range(min(workers, len(pending))):
            worker = _Worker(ctx, spec)
            pool.append(worker)
            worker.feed(pending)
        while True:
            busy = [w for w in pool if w.bundle is not None]
            if not busy:
                break
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for i, worker in enumerate(pool):
                if worker.bundle is None or (worker.conn not in ready and worker.process.sentinel not in ready):
                    continue
                message = worker.receive()
                if message is None:  # the process is gone
                    if not worker.ready:
                        raise FatalBatchError(
                            f"a worker process exited ({_describe_exit(worker.process)}) while loading the models"
                        )
                    crashes_in_a_row += 1
                    if len(worker.bundle) > 1:
                        # Which input killed it? Hand the bundle out again one input at a time.
                        pending.extendleft([item] for item in reversed(worker.bundle))
                        worker.stop()
                    else:
                        yield _crash_result(worker)
                    if crashes_in_a_row >= MAX_CRASHES_IN_A_ROW:
                        raise FatalBatchError(f"{crashes_in_a_row} inputs in a row crashed their worker; stopping")
                    pool[i] = worker = _Worker(ctx, spec)
                    worker.feed(pending)
                elif message[0] == "idle":
                    continue
                elif message[0] == "ready":
                    worker.ready = True
                elif message[0] == "fatal":
                    raise FatalBatchError(message[1])
                else:
                    crashes_in_a_row = 0
                    worker.bundle = None
                    yield from message[1]
                    worker.feed(pending)
        clean_exit = True
    finally:
        for worker in pool:
            worker.stop(graceful=clean_exit)


class IsolatedAnalyzer:
    """One worker process, one input at a time: ``analyzer(key, source)`` -> :class:`ItemResult`.

    For engines that bring their own parallelism (a Ray actor): the models live in a child
    process, so an input that crashes it becomes a ``WorkerCrashed`` line and a fresh
    process is started, instead of taking the caller down with it.
    """

    def __init__(self, spec: WorkerSpec) -> None:
        self._ctx = mp.get_context("spawn")
        self._spec = spec
        self._worker = _Worker(self._ctx, spec)
        self._crashes_in_a_row = 0

    def __call__(self, key: str, source: str, language: str | None = None) -> ItemResult:
        return self.many([InputItem(key, source, language)])[0]

    def many(self, items: list[InputItem]) -> list[ItemResult]:
        """One result per item, the items analysed together (see :func:`paravox.batch.runner.bundles`); when they
        crash the worker, each is analysed again alone."""
        worker = self._worker
        worker.feed(deque([items]))
        while True:
            wait([worker.conn, worker.process.sentinel])
            message = worker.receive()
            if message is None:
                if not worker.ready:
                    raise FatalBatchError(
                        f"a worker process exited ({_describe_exit(worker.process)}) while loading the models"
                    )
                self._crashes_in_a_row += 1
                if self._crashes_in_a_row >= MAX_CRASHES_IN_A_ROW:
                    raise FatalBatchError(f"{self._crashes_in_a_row} inputs in a row crashed their worker; stopping")
                if len(items) > 1:
                    worker.stop()
                    self._worker = _Worker(self._ctx, self._spec)
                    return [result for item in items for result in self.many([item])]
                result = _crash_result(worker)
                self._worker = _Worker(self._ctx, self._spec)
                return [result]
            if message[0] == "ready":
                worker.ready = True
            elif message[0] == "fatal":
                raise FatalBatchError(message[1])
            elif message[0] == "results":
                self._crashes_in_a_row = 0
                worker.bundle = None
                return message[1]

    def close(self) -> None:
        self._worker.stop(graceful=True)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


def _crash_result(worker: "_Worker") -> ItemResult:
    """The error line of the input whose worker died (and the worker stopped for good)."""
    (item,) = worker.bundle
    worker.stop()
    exc = WorkerCrashed(f"{item.key}: the worker analysing this input died ({_describe_exit(worker.process)})")
    return ItemResult(item.key, error_line(item.key, exc), ok=False, message=str(exc))


class _Worker:
    """One worker process and the bundle of inputs it is working on."""

    def __init__(self, ctx, spec: WorkerSpec) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, spec, os.getpid()), daemon=True, name="paravox-batch-worker"
        )
        self.process.start()
        child.close()
        self.bundle: list[InputItem] | None = None
        self.ready = False

    def feed(self, pending: deque) -> bool:
        """Send the next bundle, if any; False when there is none left."""
        if not pending:
            return False
        self.bundle = pending.popleft()
        try:
            self.conn.send([(item.key, item.source, item.language) for item in self.bundle])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the process died; its sentinel reports it
        return True

    def receive(self):
        """The next message; ``("idle",)`` when there is none yet; None when the process died."""
        try:
            if self.conn.poll():
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        else:
            if self.process.is_alive():
                return ("idle",)
        self.process.join(1)
        return None

    def stop(self, *, graceful: bool = False) -> None:
        if graceful and self.process.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.process.join(10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _die_with_parent(parent_pid: int) -> None:
    """Linux: the kernel sends this worker SIGTERM when the batch process dies, however it dies.

    Without it a worker whose parent was killed (SIGKILL, SIGTERM, the OOM killer) would go
    on analysing its current input, minutes for a long recording, before noticing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)


def _worker_main(conn, spec: WorkerSpec, parent_pid: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    threads = int(spec.options.get("threads") or 0)
    if threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        analyze = ItemAnalyzer(spec)
    except FatalBatchError as exc:
        _send(conn, ("fatal", str(exc)))
        return
    except Exception as exc:  # noqa: BLE001 - report any load failure to the parent, then stop
        _send(conn, ("fatal", f"loading the models failed: {type(exc).__name__}: {exc}"))
        return
    if not _send(conn, ("ready",)):
        return
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent is gone (killed): stop
            return
        if message is None:
            return
        try:
            results = analyze.many([InputItem(key, source, language) for key, source, language in message])
        except FatalBatchError as exc:
            _send(conn, ("fatal", str(exc)))
            return
        peak = _peak_rss_mb()
        if not _send(conn, ("results", [replace(r, peak_rss_mb=peak) for r in results])):
            return


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (0 where the platform does not say)."""
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):
        return 0.0
    return round(kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024, 1)  # bytes on macOS


def _send(conn, message) -> bool:
    try:
        conn.send(message)
        return True
    except OSError:
        return False


def _describe_exit(process) -> str:
    code = process.exitcode
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
