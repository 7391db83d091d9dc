"""What the local file system refused, as one line: what was being done, the path, why, and the fix."""

from __future__ import annotations

import errno
from pathlib import Path

from creditgauge.errors import FileAccessError

_NOT_YOURS = "permission denied: give your user access to it (chmod/chown), or choose another path"
REASONS = {
    errno.EACCES: _NOT_YOURS,
    errno.EPERM: _NOT_YOURS,
    errno.EROFS: "read-only file system: choose a path on a writable file system",
    errno.ENOSPC: "no space left on the device: free some space, or choose a path on another disk",
    errno.EDQUOT: "disk quota exceeded: free some space, or choose a path on another disk",
    errno.ENOENT: "no such file or directory: check the path",
    errno.ENOTDIR: "a part of the path is a file, not a directory: check the path",
    errno.EISDIR: "it is a directory: name a file",
}


def file_error(exc: OSError, doing: str, path: Path | str | None = None, *, hint: str = "") -> FileAccessError:
    """`doing`: what was attempted, e.g. "write the export to"; the path defaults to the one the OS named; `hint`
    adds another fix, e.g. "or set database_url ..."."""
    where = path if path is not None else exc.filename
    said = (exc.strerror or str(exc)).lower()
    reason = REASONS.get(exc.errno or 0) or (f"{said}: check the path and its permissions" if where else said)
    line = f"cannot {doing} {where}: {reason}" if where is not None else f"cannot {doing}: {reason}"
    return FileAccessError(f"{line}, {hint}" if hint else line)


def writable_directory(directory: Path, doing: str) -> None:
    """Create `directory` if needed and prove a file can be written in it, or raise one line saying why not."""
    probe = directory / ".creditgauge-write-test"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise file_error(exc, doing, directory) from None
