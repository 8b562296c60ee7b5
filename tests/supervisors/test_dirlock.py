"""The data-directory lock: one holder at a time, the next one told who it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supervisors.dirlock import DataDirLock
from supervisors.errors import DataDirInUse


def test_a_second_holder_is_refused_with_the_first_ones_pid_and_the_fix(tmp_path: Path) -> None:
    first, second = DataDirLock(tmp_path / "var"), DataDirLock(tmp_path / "var")
    first.acquire(roles=["feed"])
    try:
        with pytest.raises(DataDirInUse) as refused:
            second.acquire()
        assert refused.value.holder is not None
        assert refused.value.holder["pid"] == os.getpid()
        assert refused.value.holder["roles"] == ["feed"]
        message = str(refused.value)
        assert f"pid {os.getpid()}" in message and f"kill {os.getpid()}" in message
        assert "ALPHA_PANDA_DATA_DIR" in message
    finally:
        first.release()
    second.acquire()  # free again once released
    second.release()
    second.release()  # safe twice


def test_a_refused_attempt_leaves_the_holders_record_intact(tmp_path: Path) -> None:
    first = DataDirLock(tmp_path)
    first.acquire()
    try:
        record = first.path.read_text()
        with pytest.raises(DataDirInUse):
            DataDirLock(tmp_path).acquire()
        assert first.path.read_text() == record
    finally:
        first.release()
    assert first.path.read_text() == "", "a released lock names nobody"
