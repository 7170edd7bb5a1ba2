"""benchmarks/presence_engine_cost.py --against a tree whose engine reads a constant this tree does not have.

A tree before 3a18504 had the zone estimator's constants in edge/constants.py; the comparison used to load
only the other tree's engine modules into this process, where they read this tree's edge.constants and
failed (AttributeError: MODEL_INTERVAL_PRIOR_S). Each tree now runs in a process of its own with its own
edge. The other tree here is a copy of this one whose presence engine reads a constant only its own
edge.constants has, as an older tree's engine read one that has moved since."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 2


def test_against_a_tree_with_its_own_constants_runs_each_tree_with_its_own_modules(tmp_path: Path) -> None:
    tree = tmp_path / "other"
    shutil.copytree(ROOT / "edge", tree / "edge", ignore=shutil.ignore_patterns("__pycache__"))
    with (tree / "edge" / "constants.py").open("a") as constants:
        constants.write("\nONLY_IN_THE_OTHER_TREE_S = 1.0\n")
    with (tree / "edge" / "presence.py").open("a") as engine:
        engine.write("\nassert c.ONLY_IN_THE_OTHER_TREE_S == 1.0  # read when the engine is imported\n")
    command = [sys.executable, "-m", "benchmarks.presence_engine_cost", "--against", str(tree)]
    options = ["--seeds", "1", "--minutes", "0.5", "--rounds", str(ROUNDS), "--inputs", str(tmp_path / "inputs")]
    done = subprocess.run([*command, *options], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("seed 1: ")
    assert f"(best of {ROUNDS}, alternating): old " in lines[0]
    assert lines[0].endswith("outputs identical")
    seed = json.loads(lines[-1])["seeds"]["1"]
    assert seed["identical"] is True
    for name in ("old", "new"):
        assert len(seed[name]["each_us"]) == ROUNDS
        assert seed[name]["observe_us"] == min(seed[name]["each_us"]) > 0
        assert seed[name]["sightings"] > 0
    assert seed["new_over_old"] == round(seed["new"]["observe_us"] / seed["old"]["observe_us"], 3)


def test_a_tree_whose_engine_cannot_be_imported_is_named_with_its_error(tmp_path: Path) -> None:
    tree = tmp_path / "broken"
    shutil.copytree(ROOT / "edge", tree / "edge", ignore=shutil.ignore_patterns("__pycache__"))
    with (tree / "edge" / "presence.py").open("a") as engine:
        engine.write("\nc.NOT_A_CONSTANT_ANYWHERE_S\n")
    command = [sys.executable, "-m", "benchmarks.presence_engine_cost", "--against", str(tree)]
    options = ["--seeds", "1", "--minutes", "0.5", "--rounds", "1", "--inputs", str(tmp_path / "inputs")]
    done = subprocess.run([*command, *options], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    assert str(tree) in done.stderr
    assert "NOT_A_CONSTANT_ANYWHERE_S" in done.stderr
