"""Shared pytest fixtures; keep this small and put the logic in helper modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_bluez import FakeBlueZ, FakeBlueZFactory


@pytest.fixture
def fake_bluez_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBlueZFactory]:
    """Starts fake BlueZes on private D-Buses (see tests/fake_bluez.py); all stopped after the test."""
    factory = FakeBlueZFactory(tmp_path, monkeypatch)
    yield factory
    factory.close()


@pytest.fixture
def fake_bluez(fake_bluez_factory: FakeBlueZFactory) -> FakeBlueZ:
    """A fake BlueZ with a powered adapter hci0 (with the AdvertisementMonitor API)."""
    return fake_bluez_factory()
