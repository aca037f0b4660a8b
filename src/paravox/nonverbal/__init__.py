"""Vocal events: nonverbal vocalizations (laugh, cough, sigh, ...) found in audio.

- :func:`paravox.classify` names one isolated vocalization (:mod:`.api`);
- :func:`paravox.events` finds timed events in a recording (:mod:`.api`);
- the ``paravox-events`` backend (:mod:`.backend`) adds them to every analysis, so that
  ``Analysis.tagged_text()`` writes them inline;
- :mod:`.model` runs the two models in NumPy, :mod:`.features` computes their inputs;
- :mod:`.train` and :mod:`.mixtures` train them (the ``train`` extra; never imported at inference).
"""
