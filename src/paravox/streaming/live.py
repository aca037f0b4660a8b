"""Driving a :class:`~paravox.streaming.session.StreamSession` from a live source in this
process: the microphone, or a file read at real-time pace (``paravox stream``).

Audio is read in a thread of its own, so it keeps coming while the session works; each turn
the session takes everything that arrived. When more than a second is waiting, the session
is behind and skips that turn's partial, so it catches up; final segments do not depend on
the turns (see :mod:`paravox.streaming.session`).
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from paravox.audio import SAMPLE_RATE
from paravox.errors import DeviceUnavailableError
from paravox.streaming.session import StreamSession

__all__ = ["run_live", "microphone", "BEHIND_SECONDS"]

#: More audio than this waiting (seconds) means the session is behind: no partial this turn.
BEHIND_SECONDS = 1.0


def run_live(session: StreamSession, pieces: Iterable[np.ndarray], emit: Callable[[dict[str, Any]], None], *,
             realtime: bool = False) -> None:
    """Feed ``pieces`` (16 kHz float32) to ``session`` as they come and ``emit`` every message,
    ending with ``done``. ``realtime`` paces the pieces at the speed of their audio (a file
    read as if spoken now). Ctrl-C ends the input; what came before it is finished and emitted.
    """
    inbox: queue.Queue = queue.Queue()
    stop = threading.Event()

    def produce() -> None:
        try:
            started, sent = time.monotonic(), 0.0
            for piece in pieces:
                if stop.is_set():
                    break
                if realtime:
                    sent += len(piece) / SAMPLE_RATE
                    delay = started + sent - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                inbox.put(piece)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            inbox.put(exc)
        finally:
            inbox.put(None)
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    previous = _catch_interrupt(stop)
    reader = threading.Thread(target=produce, name="paravox-stream-input", daemon=True)
    reader.start()
    try:
        ended = False
        while not ended:
            taken = [inbox.get()]
            while True:
                try:
                    taken.append(inbox.get_nowait())
                except queue.Empty:
                    break
            for item in taken:
                if isinstance(item, BaseException):
                    raise item
            ended = any(item is None for item in taken)
            arrays = [item for item in taken if isinstance(item, np.ndarray) and item.size]
            audio = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.float32)
            behind = ended or audio.size > BEHIND_SECONDS * SAMPLE_RATE
            for message in session.feed(audio, partial=not behind):
                emit(message)
        for message in session.finish():
            emit(message)
    finally:
        stop.set()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _catch_interrupt(stop: threading.Event):
    """The first Ctrl-C ends the input (the stream is then finished); a second one interrupts."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(signum, frame):
        stop.set()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, on_interrupt)
    return previous


def microphone(*, block_seconds: float = 0.1, device: Any = None) -> Iterator[np.ndarray]:
    """16 kHz mono float32 pieces from the default input device (sounddevice/PortAudio), until
    the consumer stops asking. Raises :class:`DeviceUnavailableError` naming the fix when the
    library, PortAudio or an input device is missing."""
    try:
        import sounddevice as sd
    except ImportError:
        raise DeviceUnavailableError(
            "reading the microphone needs the 'mic' extra: pip install 'paravox[mic]'") from None
    except OSError as exc:  # the module is there, PortAudio is not
        raise DeviceUnavailableError(
            f"reading the microphone needs PortAudio ({exc}): install it (Debian/Ubuntu: apt install libportaudio2; "
            "macOS: brew install portaudio), or stream a file instead") from None
    try:
        sd.check_input_settings(device=device, channels=1, samplerate=SAMPLE_RATE, dtype="float32")
    except Exception as exc:  # noqa: BLE001 - PortAudio's errors are plain exceptions
        raise DeviceUnavailableError(f"no usable microphone ({exc}); check that one is plugged in and allowed, "
                                     "or stream a file instead") from None
    blocks: queue.Queue = queue.Queue()

    def callback(indata, frames, time_info, status) -> None:
        blocks.put(indata[:, 0].copy())

    with sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", device=device,
                        blocksize=int(block_seconds * SAMPLE_RATE), callback=callback):
        while True:
            yield blocks.get()
