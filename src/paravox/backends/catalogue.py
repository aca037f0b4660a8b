"""The hub models of :mod:`paravox.model_hub` as backends: each one is registered under its
name (``--asr sensevoice-small``, ``--emotion emotion2vec-plus-base``), and its factory checks
the extra and the files (one clear line when either is missing) before it imports the runtime.

The registry imports this module when it loads its built-ins; registering imports nothing heavy.
"""

from __future__ import annotations

import importlib
import re
from typing import Any, Callable

from paravox.model_hub import CATALOGUE, HubModel, resolve


def backend_factory(entry: HubModel) -> Callable[..., Any]:
    """A registry factory that checks the extra and the files (one clear line when either is
    missing), then imports the implementation and builds it on the snapshot folders."""

    def build(**kwargs: Any) -> Any:
        fixed = dict(entry.options)
        clash = sorted(set(fixed) & set(kwargs))
        if clash:
            from paravox.errors import OptionError

            raise OptionError(f"{entry.name} fixes {', '.join(clash)} itself ({fixed[clash[0]]!r}); "
                              f"leave out --asr-model or choose another backend")
        if entry.needs_model and not kwargs.get("model"):
            from paravox.errors import OptionError

            raise OptionError(entry.needs_model)
        paths = resolve(entry)
        module_name, _, attr = (entry.implementation or "").partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        from_catalogue = getattr(cls, "from_catalogue", None)
        if from_catalogue is None:  # a paravox backend that finds its own files (faster-whisper)
            return cls(**fixed, **kwargs)
        return from_catalogue(entry, paths, **kwargs)

    build.__doc__ = entry.summary
    build.__name__ = f"hub_{re.sub(r'[^0-9a-zA-Z]', '_', entry.name)}"
    return build


def register_all() -> None:
    """Register every catalogue model that is a backend under its name (the registry calls
    this when it loads its built-ins; nothing heavy is imported)."""
    from paravox.backends import registry

    for entry in CATALOGUE.values():
        if entry.kind in registry.KINDS and entry.implementation:
            registry.register(entry.kind, entry.name, description=f"{entry.summary} [hub: {entry.extra or 'core'}, "
                              f"~{entry.size_gb:g} GB]")(backend_factory(entry))


register_all()
