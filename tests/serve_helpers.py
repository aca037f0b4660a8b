"""Real servers on a free loopback port for the service and web-page tests, and a fake recogniser."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx

from paravox.backends.registry import ASRResult
from paravox.result import Segment, Word


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(app, *, startup_timeout: float = 180.0) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread of this process; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server stopped during startup (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server did not start within {startup_timeout:g} s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def serve_in_subprocess(*args: str, log: Path, startup_timeout: float = 240.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """``paravox serve --port P ARGS`` in a child process; yields (base URL, process) once /healthz answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "paravox.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"paravox serve exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"paravox serve did not answer within {startup_timeout:g} s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def fake_asr(seconds: float = 0.0) -> type:
    """A recogniser class that takes ``seconds`` per call, reporting progress like the real one,
    and says "hello" over the whole input (register it under its ``name``)."""

    class SlowASR:
        name = f"test-slow-asr-{seconds:g}"

        def __init__(self, threads: int = 0) -> None:
            pass

        def transcribe(self, samples, *, offset=0.0, options=None, progress=None):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                time.sleep(0.02)
                if progress is not None:
                    progress(offset)
            dur = len(samples) / 16000
            return ASRResult([Segment(offset, offset + dur, "hello", [Word(offset, offset + dur, "hello")])], "en", 1.0)

    return SlowASR
