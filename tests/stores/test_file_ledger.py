"""The embedded file ledger: durable across reopen, deduplicated the same way, one owner."""

from __future__ import annotations

import gc
import tracemalloc
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from actors.errors import LedgerError
from actors.stores.file_ledger import FileLedger
from actors.stores.ledger_rows import FillRow, OrderRow, fill_row, order_row
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


def batch(order: str, n: int) -> list[FillRow]:
    return [fill_row("paper", make_fill(order, f"{order}-f{i}"), f"e{i}", i) for i in range(n)]


async def test_a_batch_is_appended_with_one_fsync_per_log(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path)
    rows: list[FillRow | OrderRow] = [order_row("paper", make_submitted("c1"), "e", 0)]
    rows += batch("c1", 50)

    assert await ledger.record_rows(rows) == 51

    assert (ledger.commits, ledger.fsyncs) == (1, 2)  # orders.jsonl and fills.jsonl
    assert await ledger.record_rows(rows) == 0  # all known: nothing to write or sync
    assert (ledger.commits, ledger.fsyncs) == (1, 2)
    await ledger.close()


async def test_a_reopen_after_a_crash_mid_batch_keeps_what_landed_and_dedups_the_redelivery(
    tmp_path: Path,
) -> None:
    ledger = FileLedger(tmp_path)
    await ledger.record_rows(batch("c0", 3))  # an earlier batch, acked
    await ledger.close()
    # The next batch died mid-write: two whole lines and a torn third reached the log, and
    # the index never heard of any of them.
    rows = batch("c1", 5)
    lines = [msgspec.json.encode(r) + b"\n" for r in rows]
    log = tmp_path / "fills.jsonl"
    log.write_bytes(log.read_bytes() + lines[0] + lines[1] + lines[2][:17])

    reopened = FileLedger(tmp_path)
    assert await reopened.count_fills("paper") == 5  # the acked batch and the two whole lines

    assert await reopened.record_rows(rows) == 3  # its inputs were redelivered, unacked
    assert [r.fill_id for r in await reopened.fills("paper", "c1")] == [r.fill_id for r in rows]
    assert await reopened.count_fills("paper") == 8
    await reopened.close()
    assert (tmp_path / "fills.jsonl").read_bytes().count(b"\n") == 8


async def test_a_missing_or_stale_index_is_rebuilt_from_the_logs(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path)
    await ledger.record_rows(batch("c1", 4))
    await ledger.close()
    index = tmp_path / "index.sqlite3"
    stale = index.read_bytes()

    index.unlink()
    rebuilt = FileLedger(tmp_path)
    assert await rebuilt.record_rows(batch("c1", 6)) == 2
    await rebuilt.close()
    # an index from before the last batch, and then one that is not an index at all
    for content in (stale, b"not a database"):
        index.write_bytes(content)
        for leftover in ("-wal", "-shm"):
            (tmp_path / f"index.sqlite3{leftover}").unlink(missing_ok=True)
        again = FileLedger(tmp_path)
        assert await again.record_rows(batch("c1", 6)) == 0
        assert [r.fill_id for r in await again.fills("paper")] == [
            r.fill_id for r in batch("c1", 6)
        ]
        await again.close()


async def test_a_log_restored_from_elsewhere_is_not_trusted_to_the_old_index(
    tmp_path: Path,
) -> None:
    ledger = FileLedger(tmp_path)
    await ledger.record_rows(batch("c1", 3))
    await ledger.close()
    # another ledger's log, longer than this one, put in its place
    other = tmp_path / "other"
    theirs = FileLedger(other)
    await theirs.record_rows(batch("c2", 5))
    await theirs.close()
    (tmp_path / "fills.jsonl").write_bytes((other / "fills.jsonl").read_bytes())

    restored = FileLedger(tmp_path)

    assert [r.client_order_id for r in await restored.fills("paper")] == ["c2"] * 5
    assert await restored.record_rows(batch("c1", 1)) == 1
    await restored.close()


async def test_rows_stay_on_disk_so_memory_does_not_grow_with_the_ledger(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path)
    tracemalloc.start()
    try:
        await ledger.record_rows(batch("warm", 200))
        await ledger.fills("paper", "warm")
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        for n in range(20):
            await ledger.record_rows(batch(f"c{n}", 500))  # 10,000 rows, about 4 MB of JSON
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert await ledger.count_fills("paper") == 10_200
    assert after - before < 256 * 1024, f"grew {after - before} bytes"
    assert len(await ledger.fills("paper", "c7")) == 500
    await ledger.close()


async def test_a_log_not_written_yet_reads_as_empty(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path)
    await ledger.record_order("paper", make_submitted("c1"), "e0", 0)

    assert await ledger.fills("paper") == [] and await ledger.count_fills("paper") == 0
    assert [r.client_order_id for r in await ledger.orders("paper")] == ["c1"]
    await ledger.close()
