"""Loading FunASR models (SenseVoice, emotion2vec+) quietly, for the rooms that run them.

FunASR is imported inside :func:`auto_model`, never before: ``pip install 'paravox[funasr]'``
brings it; without it, one line names the extra.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any, Iterator, Sequence

from paravox.errors import ModelUnavailableError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def funasr_quiet() -> Iterator[None]:
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


def auto_model(folder: Path, name: str, device: str | None, threads: int) -> Any:
    with funasr_quiet():
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


class FunASRModel:
    """A FunASR model folder loaded with :func:`auto_model`; built from the catalogue's snapshot."""

    def __init__(self, folder: str | Path, *, device: str | None = None, threads: int = 0,
                 name: str = "funasr") -> None:
        self.name = name
        self.model = auto_model(Path(folder), name, device, threads)

    @classmethod
    def from_catalogue(cls, entry: Any, paths: Sequence[Path], *, threads: int = 0, device: str | None = None,
                       **ignored: Any) -> Any:
        return cls(paths[0], device=device, threads=threads, name=entry.name)
