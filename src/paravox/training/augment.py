"""Names of the augmented training copies (``noise``, ``gain``, ``speed90``, ``speed110``).

A module of its own, importing nothing, so that the command line can offer the names in
``--help`` without loading NumPy; the copies themselves are made by
:func:`paravox.speech_emotion.features.augment_samples`.
"""

#: speed perturbation factors by name (Kaldi's 0.9 / 1.1 recipe): the clip is resampled, so
#: tempo and pitch move together, as with a shorter or longer vocal tract
SPEED_FACTORS = {"speed90": 0.9, "speed110": 1.1}
#: every kind of copy, ``clean`` (the recording as it is) first
AUGMENTATIONS = ("clean", "noise", "gain", *SPEED_FACTORS)
#: the kinds a training command can add to the clean clips
COPIES = AUGMENTATIONS[1:]
