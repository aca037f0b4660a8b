"""Training (the ``train`` extra: PyTorch, scikit-learn); never imported by inference.

- :mod:`.vocal_events`: the event detector and classifier (``paravox train events``);
- :mod:`.isolated`: the isolated-vocalization classifier (``paravox train isolated``);
- :mod:`.mixtures`: synthetic mixtures of vocalizations and speech for the detector;
- :mod:`.speech_emotion`: the emotion head (``paravox train emotion``);
- :mod:`.clips`, :mod:`.augment`: labelled clip lists and augmentation.
"""
