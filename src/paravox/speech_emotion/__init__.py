"""Speech emotion (inference only).

- :mod:`.api`: :func:`paravox.emotion` (per file, per speech segment, or at a fixed hop);
- :mod:`.recognizer`: the model over time (speech spans, windows);
- :mod:`.model`: the NumPy head; :mod:`.features`: its inputs (encoder states and prosody);
- ``weights/``: the shipped model and its model card.

Training lives in :mod:`paravox.training` and is never imported from here.
"""
