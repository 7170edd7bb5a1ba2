"""``edge demo --headless DIR`` refuses a folder it cannot write before the store opens (exit 2, the path named),
instead of logging an error per frame and ending as if the frames were there."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import cli


def test_a_frames_path_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "frames"
    taken.write_text("not a folder")
    assert cli.main(["demo", "--headless", str(taken), "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert str(taken) in err
    assert "cannot write the frames" in err
    assert taken.read_text() == "not a folder"


def test_a_frames_folder_it_can_make_is_made_and_left_clean(tmp_path: Path) -> None:
    from edge.demo import _writable

    frames = tmp_path / "a" / "b"
    _writable(frames)
    assert frames.is_dir()
    assert list(frames.iterdir()) == []
