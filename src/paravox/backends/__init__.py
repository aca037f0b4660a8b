"""Backends by name: the plug-ins an analysis runs, one module per backend.

- :mod:`.registry`: register a factory under a kind (``asr``, ``events``, ``emotion``) and a
  short name; :func:`~.registry.create` builds one by name.
- :mod:`.whisper`: the ``whisper-base`` recogniser (faster-whisper on the offline model).
- :mod:`.vocal_events`: ``paravox-events``, the vocal-event detector.
- :mod:`.speech_emotion`: ``paravox-emotion``, the emotion head.
"""
