"""Commands of the command-line layer that are not the gateway itself: ``edge bench`` and ``edge record``.

They sit above the app in the layers contract (``pyproject.toml``, ``[tool.importlinter]``): nothing below
the command line imports them.
"""
