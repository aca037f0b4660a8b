"""Speech emotion recognition: features, a NumPy model, the registry backend and the API.

``paravox.emotion(...)`` (in :mod:`paravox.ser.api`) is the public entry point; training
lives in :mod:`paravox.ser.train` and is never imported by inference.
"""
