"""load_session and the stored session: KITE_ACCESS_TOKEN first, else the login's file,
owner-only, refused once past 06:00 IST; no token in any repr or error."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from actors.kite.session import KiteSessionError, load_session
from actors.kite.session_store import (
    IST,
    SessionFileError,
    StoredSession,
    expiry_after,
    read_session,
    save_session,
    session_path,
)
from ops.settings import load_settings

TOKEN = "stored-token-0123456789"


def _stored(login: datetime, api_key: str = "key1") -> StoredSession:
    return StoredSession(api_key, "AB1234", SecretStr(TOKEN), login, expiry_after(login))


@pytest.mark.parametrize(
    ("login", "expires"),
    [
        (datetime(2026, 12, 1, 9, 15, tzinfo=IST), datetime(2026, 12, 2, 6, 0, tzinfo=IST)),
        (datetime(2026, 12, 1, 5, 59, tzinfo=IST), datetime(2026, 12, 1, 6, 0, tzinfo=IST)),
        (datetime(2026, 12, 1, 6, 0, tzinfo=IST), datetime(2026, 12, 2, 6, 0, tzinfo=IST)),
        (datetime(2026, 12, 31, 23, 0, tzinfo=IST), datetime(2027, 1, 1, 6, 0, tzinfo=IST)),
    ],
)
def test_the_token_expires_at_the_next_six_am_in_kolkata(
    login: datetime, expires: datetime
) -> None:
    assert expiry_after(login) == expires
    assert expiry_after(login.astimezone(IST).replace(tzinfo=IST)) == expires


def test_the_session_file_is_owner_only_and_round_trips(tmp_path: Path) -> None:
    login = datetime(2026, 12, 1, 9, 15, tzinfo=IST)
    path = save_session(tmp_path, _stored(login))
    assert path == session_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    back = read_session(tmp_path)
    assert back is not None and back.access_token.get_secret_value() == TOKEN
    assert back.expires_at == datetime(2026, 12, 2, 6, 0, tzinfo=IST)
    assert TOKEN not in repr(back) and TOKEN not in str(back)


@pytest.mark.parametrize(("target", "mode", "fix"), [("file", 0o640, "600"), ("dir", 0o755, "700")])
def test_a_session_others_can_read_is_refused_naming_the_chmod(
    tmp_path: Path, target: str, mode: int, fix: str
) -> None:
    path = save_session(tmp_path, _stored(datetime(2026, 12, 1, 9, 15, tzinfo=IST)))
    which = path if target == "file" else path.parent
    os.chmod(which, mode)
    with pytest.raises(SessionFileError, match=f"chmod {fix} {which}") as err:
        read_session(tmp_path)
    assert TOKEN not in str(err.value)


def test_a_corrupt_file_names_the_file_and_the_login(tmp_path: Path) -> None:
    path = save_session(tmp_path, _stored(datetime(2026, 12, 1, 9, 15, tzinfo=IST)))
    path.write_text("{not json")
    with pytest.raises(SessionFileError, match="alpha-panda zerodha login"):
        read_session(tmp_path)


def test_load_session_prefers_kite_access_token(tmp_path: Path) -> None:
    save_session(tmp_path, _stored(datetime(2026, 12, 1, 9, 15, tzinfo=IST)))
    settings = load_settings(KITE_API_KEY="key1", KITE_ACCESS_TOKEN="env-token-1",
                             ALPHA_PANDA_DATA_DIR=str(tmp_path))  # fmt: skip
    session = load_session(settings)
    assert session.access_token.get_secret_value() == "env-token-1"
    assert session.source == "KITE_ACCESS_TOKEN" and session.expires_at is None


def test_load_session_reads_the_stored_login_until_it_expires(tmp_path: Path) -> None:
    login = datetime(2026, 12, 1, 9, 15, tzinfo=IST)
    save_session(tmp_path, _stored(login))
    settings = load_settings(KITE_API_KEY="key1", ALPHA_PANDA_DATA_DIR=str(tmp_path))
    session = load_session(settings, now=login + timedelta(hours=20))
    assert session.access_token.get_secret_value() == TOKEN
    assert session.user_id == "AB1234" and session.source == str(session_path(tmp_path))
    assert TOKEN not in repr(session)
    with pytest.raises(KiteSessionError, match="expired at 06:00 IST on 2026-12-02") as err:
        load_session(settings, now=datetime(2026, 12, 2, 6, 0, tzinfo=IST))
    assert "alpha-panda zerodha login" in str(err.value) and TOKEN not in str(err.value)


def test_a_session_of_another_api_key_is_refused(tmp_path: Path) -> None:
    save_session(tmp_path, _stored(datetime(2026, 12, 1, 9, 15, tzinfo=IST), api_key="old"))
    settings = load_settings(KITE_API_KEY="key1", ALPHA_PANDA_DATA_DIR=str(tmp_path))
    with pytest.raises(KiteSessionError, match="another API key"):
        load_session(settings, now=datetime(2026, 12, 1, 10, 0, tzinfo=IST))


def test_no_session_at_all_names_the_login(tmp_path: Path) -> None:
    settings = load_settings(KITE_API_KEY="key1", ALPHA_PANDA_DATA_DIR=str(tmp_path))
    with pytest.raises(KiteSessionError, match="alpha-panda zerodha login"):
        load_session(settings)
