"""Kept so that ``import edge.recording`` goes on working: the module is :mod:`edge.commands.record` (``edge record``).

The old name is the same module object, so attributes set through it (tests monkeypatch them) reach it.
"""

import sys

import edge.commands.record as _module

sys.modules[__name__] = _module
