"""The hub part of ``paravox models``: the table of hub models and ``--download NAME``.

Only the catalogue (plain data) is read to list them; the download imports huggingface_hub.
"""

from __future__ import annotations

import sys
from typing import Any


def hub_rows() -> list[dict[str, Any]]:
    """One :func:`paravox.model_hub.status` row per hub model, in catalogue order."""
    from paravox import model_hub

    hub = model_hub.hub_dir()
    return [model_hub.status(entry, hub) for entry in model_hub.CATALOGUE.values()]


def print_hub_table(rows: list[dict[str, Any]]) -> None:
    """The hub models, one line each: name, kind, extra (and whether its runtime is installed),
    size, whether the files are in the cache, licence and hardware."""
    print("hub models (fetch with 'paravox models --download NAME'; see docs/backends.md):")
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        extra = r["extra"] or "core"
        runtime = "" if r["runtime_installed"] else " (not installed)"
        files = "present" if r["present"] else "absent"
        print(f"  {r['name']:<{width}}  {r['kind']:<8} {extra + runtime:<24} {r['size_gb']:>5g} GB  {files:<8} "
              f"{r['licence']}; {r['hardware']}")


def download_models(names: list[str], *, quiet: bool = False) -> int:
    """Fetch each named hub model into the cache; 0 when all are there, else a
    :class:`~paravox.errors.ModelUnavailableError` (one line, exit status 1)."""
    from paravox import model_hub
    from paravox.cli.common import UsageError

    entries = []
    for name in names:
        try:
            entries.append(model_hub.get(name))
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from None
    for entry in entries:
        if model_hub.local_paths(entry) is not None:
            print(f"{entry.name}: already in {model_hub.hub_dir()}", file=sys.stderr)
            continue
        if not quiet:
            print(f"{entry.name}: fetching {entry.source()} (about {entry.size_gb:g} GB) into {model_hub.hub_dir()}",
                  file=sys.stderr)
        paths = model_hub.download(entry, quiet=quiet)
        print(f"{entry.name}: ready in {paths[0]}", file=sys.stderr)
        if entry.missing_modules():
            print(f"{entry.name}: to run it, also {entry.pip_line}", file=sys.stderr)
    return 0
