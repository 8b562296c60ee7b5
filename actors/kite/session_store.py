"""The day's Kite session on disk: what `alpha-panda zerodha login` stores and `up` reads.

One JSON file, `<ALPHA_PANDA_DATA_DIR>/kite/session.json`, holding the access token, the
user id, the API key it was issued to, the login time and the expiry. The directory is
0700 and the file 0600, written through a temporary file created 0600 from the start (no
window where another user could read it). A file or directory that group or others can
read is refused with the `chmod` that fixes it: a token another local user can copy trades
the account until 06:00.

Kite's access token lives until 06:00 Asia/Kolkata after the login (or a logout), so the
expiry is fixed at login time: `expiry_after(login_time)`.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from pydantic import SecretStr

from schemas.errors import ConfigError

__all__ = [
    "IST",
    "EXPIRY_TIME",
    "StoredSession",
    "SessionFileError",
    "session_path",
    "expiry_after",
    "save_session",
    "read_session",
    "delete_session",
]

IST = timezone(timedelta(hours=5, minutes=30), "IST")
#: Kite expires every access token at this time of day, Asia/Kolkata
EXPIRY_TIME = time(6, 0)
_FILE = Path("kite") / "session.json"
LOGIN_COMMAND = "alpha-panda zerodha login"


class SessionFileError(ConfigError):
    """The stored session cannot be used as it is: the message names the file and the fix."""


@dataclass(frozen=True, slots=True)
class StoredSession:
    """One login: its token is a `SecretStr`, so no repr or log line shows it."""

    api_key: str
    user_id: str
    access_token: SecretStr
    login_time: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def __repr__(self) -> str:
        return f"StoredSession(user_id={self.user_id!r}, expires_at={self.expires_at.isoformat()})"

    __str__ = __repr__


def session_path(data_dir: Path) -> Path:
    return Path(data_dir) / _FILE


def expiry_after(login_time: datetime) -> datetime:
    """The first 06:00 IST strictly after `login_time` (an aware datetime), in IST."""
    local = login_time.astimezone(IST)
    at = datetime.combine(local.date(), EXPIRY_TIME, IST)
    return at if at > local else at + timedelta(days=1)


def save_session(data_dir: Path, session: StoredSession) -> Path:
    """Write the session owner-only (dir 0700, file 0600), replacing any earlier one."""
    path = session_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)  # mkdir's mode is masked by the umask; make it exact
    body = {
        "api_key": session.api_key,
        "user_id": session.user_id,
        "access_token": session.access_token.get_secret_value(),
        "login_time": session.login_time.isoformat(),
        "expires_at": session.expires_at.isoformat(),
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(body, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _refuse_open_mode(path: Path, kind: str, fix: str) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SessionFileError(
            f"the Kite session {kind} {path} has mode {mode:04o}: group or others can read the "
            f"access token; run `chmod {fix} {path}` (or delete it and run `{LOGIN_COMMAND}`)"
        )


def read_session(data_dir: Path) -> StoredSession | None:
    """The stored session, None when there is none; `SessionFileError` when unusable."""
    path = session_path(data_dir)
    if not path.exists():
        return None
    _refuse_open_mode(path.parent, "directory", "700")
    _refuse_open_mode(path, "file", "600")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        login = datetime.fromisoformat(body["login_time"])
        expires = datetime.fromisoformat(body["expires_at"])
        stored = StoredSession(
            api_key=str(body["api_key"]),
            user_id=str(body["user_id"]),
            access_token=SecretStr(str(body["access_token"])),
            login_time=login,
            expires_at=expires,
        )
    except (OSError, ValueError, KeyError, TypeError):
        raise SessionFileError(
            f"the Kite session file {path} is unreadable or not a session; delete it and "
            f"run `{LOGIN_COMMAND}`"
        ) from None
    if login.tzinfo is None or expires.tzinfo is None:
        raise SessionFileError(
            f"the Kite session file {path} has times without a zone; run `{LOGIN_COMMAND}`"
        )
    return stored


def delete_session(data_dir: Path) -> bool:
    """Remove the stored session; False when there was none."""
    path = session_path(data_dir)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
