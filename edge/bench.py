"""Kept so that ``import edge.bench`` goes on working: the module is :mod:`edge.commands.bench` (``edge bench``).

The old name is the same module object, so attributes set through it (tests monkeypatch them) reach it.
"""

import sys

import edge.commands.bench as _module

sys.modules[__name__] = _module
