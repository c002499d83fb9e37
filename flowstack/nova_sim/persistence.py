"""The optional state file: JSON, written atomically, shared safely between processes.

* Atomic: the new content goes to a temporary file in the same directory,
  is flushed and fsync'ed, then ``os.replace``'d over the old one; a reader
  (or a crash) sees the old file or the new one, never half of one.
* Locked: every read-modify-write holds an exclusive ``flock`` on a sibling
  ``<file>.lock`` (the state file itself cannot carry the lock: each write
  replaces its inode). Two simulators on one file — e.g. two flowstack CLI
  commands running at once in embedded mode — therefore never lose each
  other's changes: each reloads the file when its signature (inode, mtime,
  size) changed before applying its own change.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: in-process locking only
    fcntl = None  # type: ignore[assignment]

from flowstack.nova_sim.errors import StateFileError

FORMAT_VERSION = 1

Signature = tuple[int, int, int] | None


class StateFile:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def signature(self) -> Signature:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the inter-process lock (blocking)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+b") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def read(self) -> dict[str, Any] | None:
        """The saved state, or None when there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateFileError(f"cannot read simulator state {self.path}: {exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise StateFileError(f"simulator state {self.path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise StateFileError(
                f"simulator state {self.path} has an unknown format "
                f"(expected format {FORMAT_VERSION})"
            )
        return data

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file atomically (call with :meth:`locked` held)."""
        payload = json.dumps({**data, "format": FORMAT_VERSION}, separators=(",", ":"))
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StateFileError(f"cannot write simulator state {self.path}: {exc}") from exc
