"""The offline Whisper-base model and its encoder, read by the vocal-event and emotion heads.

- :mod:`.files`: where the model files come from (two PyPI packages) and paravox's cache.
- :mod:`.numpy_encoder`: the encoder in plain NumPy, read straight from ``model.bin``, with the
  log-mel front end.
- :mod:`.onnx_encoder`: the same blocks through ONNX Runtime (the fast path at inference).
"""
