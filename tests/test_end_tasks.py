"""Shutdown ends every task, even one that swallowed its cancel (see ``end_tasks``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from eldercare.platform import end_tasks


async def _swallows_first_cancel(ended: list[str]) -> None:
    """What a lost cancel looks like from outside: the task goes on with its loop."""
    swallowed = False
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if swallowed:
                ended.append("swallower")
                raise
            swallowed = True


async def test_a_task_that_swallowed_its_cancel_is_cancelled_again(
        caplog: pytest.LogCaptureFixture) -> None:
    ended: list[str] = []
    swallower = asyncio.create_task(_swallows_first_cancel(ended), name="swallower")
    plain = asyncio.create_task(asyncio.sleep(3600), name="plain")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="eldercare.platform"):
        await asyncio.wait_for(end_tasks([swallower, plain], again_every=0.05), 5)
    assert swallower.cancelled() and plain.cancelled()
    assert ended == ["swallower"]
    assert "task swallower went on after it was cancelled" in caplog.text
    assert "plain" not in caplog.text


async def test_a_task_that_will_not_end_is_named_and_left(
        caplog: pytest.LogCaptureFixture) -> None:
    give_up = asyncio.Event()

    async def stubborn() -> None:
        while not give_up.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="eldercare.platform"):
        await asyncio.wait_for(end_tasks([task], again_every=0.01, tries=3), 5)
    assert not task.done()
    assert caplog.text.count("cancelling it again") == 3
    assert "tasks stubborn would not end" in caplog.text
    give_up.set()  # let it end, so that the test leaves nothing behind
    task.cancel()
    await task


async def test_a_task_that_failed_is_reported_not_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise RuntimeError("the database went away")

    task = asyncio.create_task(fails(), name="notifier")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="eldercare.platform"):
        await end_tasks([task])
    assert "task notifier had failed" in caplog.text
    assert "the database went away" in caplog.text


async def test_the_last_cancel_is_given_its_time(caplog: pytest.LogCaptureFixture) -> None:
    """A task that swallows the first cancel and two of the three more ends on the last one,
    and is not called stubborn for it."""
    swallowed = 0

    async def slow_to_listen() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed == 3:
                    raise
                swallowed += 1

    task = asyncio.create_task(slow_to_listen(), name="slow")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="eldercare.platform"):
        await asyncio.wait_for(end_tasks([task], again_every=0.01, tries=3), 5)
    assert task.cancelled()
    assert caplog.text.count("cancelling it again") == 3
    assert "would not end" not in caplog.text
