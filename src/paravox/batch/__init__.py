"""Batch jobs: many inputs, one JSONL results file, on local worker processes or on Ray.

* :func:`~paravox.inputs.list_inputs` lists the inputs (folder, ``wav.scp``, JSONL manifest);
* :mod:`~paravox.batch.item` is the per-item function (a bundle of inputs -> one result line
  each; short inputs of a bundle share the recogniser's windows, options ``pack``);
* :mod:`~paravox.batch.local` and :mod:`~paravox.batch.ray_engine` run it in parallel, bundle by
  bundle (:func:`~paravox.batch.runner.bundles`);
* :mod:`~paravox.batch.writer` appends the lines crash-safely and reads them back to resume;
* :mod:`~paravox.batch.runner` ties these together: :func:`run_batch`.

Bad inputs become ``{"id", "error": {"type", "message"}}`` lines and the job goes on; a job
killed at any moment and run again with ``resume=True`` ends with every input exactly once;
``retry_errors=True`` also analyses the failed ones again, replacing their error lines.
"""

from paravox.batch.item import FatalBatchError, ItemResult, WorkerSpec
from paravox.batch.runner import BatchSummary, OutputExistsError, run_batch
from paravox.batch.writer import ResumeError, read_results
from paravox.inputs import list_inputs

__all__ = [
    "BatchSummary",
    "FatalBatchError",
    "ItemResult",
    "OutputExistsError",
    "ResumeError",
    "WorkerSpec",
    "list_inputs",
    "read_results",
    "run_batch",
]
