"""The one asyncio loop in a daemon thread (core/background_loop.py) that chat, the agent's MCP client, the harness
and the examples run their coroutines on."""

import asyncio
import threading

import pytest

from core.background_loop import BackgroundLoop


def test_run_returns_the_coroutines_result_and_raises_its_error():
    async def double(value):
        return value * 2

    async def fail():
        raise ValueError("no")

    with BackgroundLoop(name="test-loop") as loop:
        assert loop.run(double(21), timeout=5) == 42
        with pytest.raises(ValueError, match="no"):
            loop.run(fail(), timeout=5)


def test_a_stream_closed_early_cancels_its_producer():
    cancelled = threading.Event()

    async def numbers():
        try:
            for number in range(1000):
                yield number
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with BackgroundLoop(name="test-loop") as loop:
        chunks = loop.stream(numbers())
        assert [next(chunks), next(chunks)] == [0, 1]
        chunks.close()
        assert cancelled.wait(5)


def test_stop_ends_the_thread_and_a_later_run_starts_a_fresh_loop():
    async def current_thread_name():
        return threading.current_thread().name

    loop = BackgroundLoop(name="test-loop")
    first = loop.loop
    assert loop.run(current_thread_name(), timeout=5) == "test-loop"
    loop.stop()
    assert first.is_closed()
    assert not any(thread.name == "test-loop" and thread.is_alive() for thread in threading.enumerate())
    assert loop.run(current_thread_name(), timeout=5) == "test-loop"
    assert loop.loop is not first
    loop.stop()
