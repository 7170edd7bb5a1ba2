"""The one atomic file writer: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` through a temporary sibling renamed over it.

    ``fsync``: the bytes are on disk before the rename, so a power cut leaves the old file or the
    new one (the state files a restart depends on); off for throwaway output. ``mode``: the new
    file's permissions, set before it gets its name (a key is never readable by others).
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if fsync:
                os.fsync(out.fileno())
        os.chmod(tmp, mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
