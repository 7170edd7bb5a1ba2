"""Every module under ``edge/`` sits on an import-linter layer (pyproject.toml ``[tool.importlinter]``).

``lint-imports`` checks only the modules a contract names: a module left off every layer is checked by
nothing. This test fails when a new module is added without a place in the layers.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _layered() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names: set[str] = set()
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "layers":
            for layer in contract["layers"]:
                names.update(part.strip() for part in layer.replace("|", ":").split(":"))
    return names


def test_every_edge_module_is_on_a_layer() -> None:
    layered = _layered()
    missing = []
    for path in sorted((ROOT / "edge").rglob("*.py")):
        if path.name == "__init__.py":
            continue  # packages hold docstrings only; their modules are what the layers place
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        if not any(module == name or module.startswith(name + ".") for name in layered):
            missing.append(module)
    assert missing == [], f"on no import-linter layer in pyproject.toml: {', '.join(missing)}"
