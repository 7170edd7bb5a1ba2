"""`edge doctor`'s table prints each check's detail and fix as written: the TOML table names they
quote (``[advertise]``, ``[[zones]]``, ``[floor]``) are text, not rich markup that would vanish."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.config import load
from edge.ops.checks import Result, check_advertising, check_zones
from edge.ops.doctor import print_table


def _flat(text: str) -> str:
    """The table's cells without its borders and line breaks, so a folded cell reads as one line."""
    kept = "".join(ch if ch.isascii() else " " for ch in text)
    return " ".join(kept.split())


def test_table_names_in_a_detail_or_fix_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    print_table([Result("zones", "warn", "no [[zones]] and not on the [floor] plan", "set [advertise] adapter")])
    out = _flat(capsys.readouterr().out)
    assert "no [[zones]] and not on the [floor] plan" in out
    assert "set [advertise] adapter" in out


def test_the_real_checks_of_a_config_without_zones_or_advertise_keep_their_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "edge.toml"
    path.write_text('[gateway]\nstore = "store-1"\ngateway = "gw-1"\n')
    config = load(path)
    zones = check_zones(config)
    advertising = asyncio.run(check_advertising(config))
    assert "[[zones]]" in zones.detail
    assert "[advertise]" in advertising.detail
    print_table([zones, advertising])
    out = _flat(capsys.readouterr().out)  # the cells of a row interleave line by line: look at words
    assert out.count("[[zones]]") == 2  # "no [[zones]]: ..." and "add a [[zones]] table ..."
    assert "no [advertise]:" in out
