"""The tests run on a loop in asyncio debug mode, so misuse of asyncio fails them."""

from __future__ import annotations

import asyncio

from tests.conftest import SLOW_CALLBACK_S


async def test_the_loop_the_tests_run_on_is_in_debug_mode() -> None:
    loop = asyncio.get_running_loop()
    assert loop.get_debug()
    assert loop.slow_callback_duration == SLOW_CALLBACK_S


async def test_coroutines_record_where_they_were_created() -> None:
    # Debug mode tracks coroutine origins: a never-awaited coroutine's warning names the
    # line that created it, which is what makes such a bug findable.
    import sys

    assert sys.get_coroutine_origin_tracking_depth() > 0
