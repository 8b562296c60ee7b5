"""The embedded file ledger: durable across reopen, deduplicated the same way, one owner."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from actors.errors import LedgerError
from actors.stores.file_ledger import FileLedger
from tests.stores.conftest import make_fill, make_submitted


async def test_dedup_survives_a_reopen(tmp_path: Path) -> None:
    first = FileLedger(tmp_path)
    assert await first.record_fill("paper", make_fill("c1", "f1"), "e1", 1)
    assert await first.record_order("paper", make_submitted("c1"), "e0", 0)
    await first.close()

    again = FileLedger(tmp_path)

    assert not await again.record_fill("paper", make_fill("c1", "f1"), "e1-redelivered", 1)
    assert not await again.record_order("paper", make_submitted("c1"), "e0-new-id", 0)
    assert await again.record_fill("paper", make_fill("c1", "f2"), "e2", 2)
    [f1, f2] = await again.fills("paper")
    assert (f1.fill_id, f1.price, str(f1.price)) == ("f1", Decimal("2450.05"), "2450.05")
    assert f2.fill_id == "f2" and await again.count_fills("paper") == 2
    await again.close()


async def test_duplicate_lines_on_disk_load_once(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path)
    await ledger.record_fill("paper", make_fill("c1", "f1"), "e1", 1)
    await ledger.close()
    log = tmp_path / "fills.jsonl"
    log.write_bytes(log.read_bytes() * 3)  # e.g. a restore appended onto the live file

    reopened = FileLedger(tmp_path)

    assert await reopened.count_fills("paper") == 1
    await reopened.close()


async def test_a_torn_last_line_is_cut_off(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path)
    await ledger.record_fill("paper", make_fill("c1", "f1"), "e1", 1)
    await ledger.close()
    log = tmp_path / "fills.jsonl"
    log.write_bytes(log.read_bytes() + b'{"broker":"paper","fill_id":"f2","cli')  # crash mid-append

    reopened = FileLedger(tmp_path)
    assert await reopened.record_fill("paper", make_fill("c1", "f2"), "e2", 2)

    assert [r.fill_id for r in await reopened.fills("paper")] == ["f1", "f2"]
    await reopened.close()


async def test_a_corrupt_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "fills.jsonl").write_bytes(b"not json\n")

    with pytest.raises(LedgerError, match=r"fills.jsonl:1: not a ledger row"):
        FileLedger(tmp_path)


async def test_a_second_owner_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = FileLedger(tmp_path)

    with pytest.raises(LedgerError, match="in use by another process"):
        FileLedger(tmp_path)

    await first.close()
    second = FileLedger(tmp_path)
    await second.close()


async def test_a_closed_ledger_refuses_writes(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path)
    await ledger.close()

    with pytest.raises(LedgerError, match="closed"):
        await ledger.record_fill("paper", make_fill("c1", "f1"), "e1", 1)
