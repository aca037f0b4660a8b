"""Fold benchmarks behind ``paravox bench``: train on each fold's training part, score its
test part, report mean and spread. :mod:`.vocal_events` (``classify``, ``nvasr``) and
:mod:`.speech_emotion` (``emotion``)."""
