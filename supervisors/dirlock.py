"""One `alpha-panda up` per data directory: an exclusive `flock` on `<dir>/up.lock`.

The lock is the kernel's, on an open file description: it goes away with the process
however that ends (SIGKILL included), so a crashed owner never leaves a stale lock behind.
The file's content only says who holds it (pid, host, start time, command), for the
message the next process prints; it is rewritten by every new holder.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from supervisors.errors import DataDirInUse

__all__ = ["DataDirLock", "LOCK_FILE"]

LOCK_FILE = "up.lock"


class DataDirLock:
    """Held for the life of the process; `release()` is safe to call twice."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self, **info: Any) -> None:
        """Take the lock or raise `DataDirInUse` naming the process that has it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        # Opened without truncating: the holder's record must survive our failed attempt.
        f = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise DataDirInUse(self.directory, self._holder()) from None
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(["alpha-panda", *sys.argv[1:]]),
            **info,
        }
        f.seek(0)
        f.truncate()
        f.write(json.dumps(record) + "\n")
        f.flush()
        self._file = f

    def release(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        f.seek(0)
        f.truncate()  # the record would name a process that no longer holds the directory
        f.close()  # closing drops the flock

    def _holder(self, wait_s: float = 1.0) -> dict[str, Any] | None:
        """The holder's record; it may be a moment away if the holder has just locked."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                text = self.path.read_text(encoding="utf-8").strip()
                if text:
                    holder: dict[str, Any] = json.loads(text)
                    return holder
            except (OSError, ValueError):
                pass
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
