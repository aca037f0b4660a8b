"""Vocal events (inference only): nonverbal vocalizations (laugh, cough, sigh, ...) in audio.

- :mod:`.api`: :func:`paravox.events` (timed events in a recording) and :func:`paravox.classify`
  (one isolated vocalization);
- :mod:`.model`: the classifier and the detector in NumPy, and turning frame activity into events;
- :mod:`.features`: their inputs (Whisper encoder states);
- :mod:`.laugh_words`: laughter that Whisper spelled out (``哈哈``, ``ha-ha``) becomes a tag;
- :mod:`.filler_words` / :mod:`.sound_words` (both optional): filled pauses Whisper wrote
  (``um``, ``嗯``), and sounds it described (``(laughs)``, ``*cough*``), become tags;
- ``weights/``: the shipped models and their model cards.

Training lives in :mod:`paravox.training` and is never imported from here.
"""
