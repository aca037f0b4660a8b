"""Run analyses off the event loop: bounded concurrency, a bounded queue, a deadline.

The service never holds more than ``max_concurrency + max_queue`` requests at once: a
request takes a slot (:meth:`AnalysisPool.admit`) *before* its upload is read, so a full
queue is answered at once with 503 instead of piling uploads up in memory. A slot is
given back when the request is done, or, if it timed out while its analysis was running,
when that analysis has actually stopped (it is told to stop at its next progress step), so
the slot count always matches the work the CPU really has.

Models are built once and shared by every request (:class:`BackendCache`); a request may
ask for other decoding options (language, beam size, ...) or another registered event or
emotion backend without loading anything twice.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from paravox.analyzer import Analyzer
from paravox.backends import registry
from paravox.machine import release_freed_heap
from paravox.options import AnalyzeOptions
from paravox.result import Analysis


class QueueFull(Exception):
    """Every slot is taken: the caller should answer 503 and let the client retry."""


class DeadlineExceeded(Exception):
    """The request ran past its deadline (queue wait, upload and analysis together)."""


class InvalidOptions(Exception):
    """A backend refused the options a request asked for (an unknown event tag, say)."""


class _Cancelled(Exception):
    """Raised inside a worker thread to stop an analysis whose request has given up."""


class BackendCache:
    """Each backend (kind, name, options) is built once and shared by every request.

    At most ``size`` are kept; the least recently used is dropped past that (a request
    still using it keeps its reference). Requests can only vary options that are cheap to
    build with (an event threshold, say): model files are cached below this, per process.
    """

    def __init__(self, threads: int = 0, size: int = 16, asr_workers: int = 1) -> None:
        self.threads = threads
        self.size = size
        #: transcriptions that may run at once (the server's concurrency), for a recogniser
        #: that takes ``workers``; otherwise concurrent requests take turns inside it
        self.asr_workers = asr_workers
        self._lock = threading.Lock()
        self._built: OrderedDict[tuple, Any] = OrderedDict()

    def get(self, kind: str, name: str, **options: Any) -> Any:
        if kind == "asr":
            options = {"threads": self.threads, **options}
            if self.asr_workers > 1 and _accepts(kind, name, "workers"):
                options.setdefault("workers", self.asr_workers)
        key = (kind, name, _freeze(options))
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
            else:
                self._built[key] = registry.create(kind, name, **options)
                while len(self._built) > self.size:
                    self._built.popitem(last=False)
            return self._built[key]

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted({f"{kind}:{name}" for kind, name, _ in self._built})


def _accepts(kind: str, name: str, parameter: str) -> bool:
    """Whether backend ``name``'s constructor takes keyword ``parameter``."""
    import inspect

    backend = registry.available(kind).get(name)
    if backend is None:
        return False
    try:
        params = inspect.signature(backend.factory).parameters
    except (TypeError, ValueError):
        return False
    return parameter in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set)):
        return tuple(_freeze(v) for v in value)
    return value


class PooledAnalyzer(Analyzer):
    """An :class:`Analyzer` for one request's options whose backends come from a shared cache."""

    def __init__(self, options: AnalyzeOptions, backends: BackendCache) -> None:
        super().__init__(options)
        self._backends = backends

    @property
    def asr(self):
        return self._backends.get("asr", self.options.asr, **self.options.asr_backend_options())

    @property
    def events(self):
        if not self.options.events:
            return None
        backend_options = getattr(self.options, "events_backend_options", dict)()
        return self._backends.get("events", self.options.events, **backend_options)

    @property
    def emotion(self):
        return self._backends.get("emotion", self.options.emotion) if self.options.emotion else None


class Slot:
    """One admitted request. :meth:`release` is safe to call more than once."""

    def __init__(self, pool: "AnalysisPool") -> None:
        self._pool = pool
        self._running: asyncio.Future | None = None
        self._released = False

    def release(self) -> None:
        """Give the slot back now, or as soon as the analysis it started has stopped."""
        if self._released:
            return
        if self._running is not None and not self._running.done():
            self._running.add_done_callback(lambda _f: self.release())
            return
        self._released = True
        self._pool._admitted -= 1


class AnalysisPool:
    """Worker threads that analyse uploads, with admission control.

    All bookkeeping happens on the event loop's thread; only :meth:`load` and the analyses
    themselves run in worker threads.
    """

    def __init__(
        self, options: AnalyzeOptions, *, max_concurrency: int = 1, max_queue: int = 8, trim_memory: bool = False
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if max_queue < 0:
            raise ValueError(f"max_queue must be >= 0, got {max_queue}")
        self.options = options
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        #: give the C heap's freed pages back to the system after each analysis and stream
        self.trim_memory = trim_memory
        self.backends = BackendCache(threads=options.threads, asr_workers=max_concurrency)
        self._executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="paravox-analyze")
        self._admitted = 0  # slots taken; touched on the event loop's thread only
        self._running = 0  # analyses in a worker thread right now
        self._running_lock = threading.Lock()

    # ---- lifecycle ----------------------------------------------------------------------
    def load(self) -> None:
        """Build the default backends (blocking: call it from a thread at startup)."""
        analyzer = self.analyzer(self.options)
        analyzer.asr, analyzer.events, analyzer.emotion  # noqa: B018 - built for their side effect

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def analyzer(self, options: AnalyzeOptions) -> PooledAnalyzer:
        return PooledAnalyzer(options, self.backends)

    def stats(self) -> dict[str, int]:
        return {
            "running": self._running,
            "waiting": max(0, self._admitted - self._running),
            "max_concurrency": self.max_concurrency,
            "max_queue": self.max_queue,
        }

    # ---- admission and running ----------------------------------------------------------
    def admit(self) -> Slot:
        """Take a slot or raise :class:`QueueFull`."""
        if self._admitted >= self.max_concurrency + self.max_queue:
            raise QueueFull(
                f"the server is busy: {self.max_concurrency} analyses running and {self.max_queue} waiting; retry shortly"
            )
        self._admitted += 1
        return Slot(self)

    async def analyze(
        self, slot: Slot, source: Any, *, name: str, options: AnalyzeOptions, deadline: float
    ) -> Analysis:
        """Analyse ``source`` in a worker thread; :class:`DeadlineExceeded` past ``deadline``.

        ``deadline`` is a time of ``loop.time()``. The source is closed when the analysis ends.
        """
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def check(_seconds: float = 0.0) -> None:
            if stop.is_set():
                raise _Cancelled()

        def job() -> Analysis:
            try:
                check()  # gave up while waiting in the queue
                with self._running_lock:
                    self._running += 1
                try:
                    analyzer = self.analyzer(options)
                    try:  # built (or found in the cache) before any audio is read
                        analyzer.asr, analyzer.events, analyzer.emotion  # noqa: B018
                    except (ValueError, TypeError) as exc:
                        raise InvalidOptions(str(exc)) from exc
                    return analyzer.analyze(source, name=name, progress=check)
                finally:
                    with self._running_lock:
                        self._running -= 1
                    if self.trim_memory:
                        release_freed_heap()
            finally:
                close = getattr(source, "close", None)
                if close is not None:
                    close()

        future = loop.run_in_executor(self._executor, job)
        future.add_done_callback(_consume_exception)
        slot._running = future
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            stop.set()
            raise DeadlineExceeded() from None
        except BaseException:
            stop.set()  # the client went away (task cancelled) or the analysis failed
            raise


def _consume_exception(future: asyncio.Future) -> None:
    # A timed-out request no longer awaits its future; mark the outcome as seen.
    if not future.cancelled():
        future.exception()
