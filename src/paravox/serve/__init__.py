"""The HTTP service and its web page (``paravox serve``; needs the ``serve`` extra).

One module per part: :mod:`~paravox.serve.app` (routes, the app factory),
:mod:`~paravox.serve.pool` (worker threads, admission, deadlines, shared models),
:mod:`~paravox.serve.uploads` (reading an upload within a size limit),
:mod:`~paravox.serve.transcriptions` (OpenAI-compatible response formats),
:mod:`~paravox.serve.errors` (the one error shape); the page is in ``static/``.
"""
