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


# --- keep-alive: what the stream yields while the model pauses ------------------------------------------------

KEEPALIVE = b": keep-alive\n\n"


def pausing_answer(resume):
    async def answer():
        yield b"data: first\n\n"
        while not resume.is_set():  # the model pauses (a tool call, a slow token)
            await asyncio.sleep(0.01)
        yield b"data: second\n\n"

    return answer()


def test_a_pausing_answer_carries_keepalives_so_a_client_that_left_is_noticed():
    loop, resume = BackgroundLoop(name="test-loop"), threading.Event()
    chunks = loop.stream(pausing_answer(resume), idle_chunk=KEEPALIVE, idle_seconds=0.05)
    assert next(chunks) == b"data: first\n\n"
    assert next(chunks) == KEEPALIVE and next(chunks) == KEEPALIVE  # written while nothing else comes
    resume.set()
    rest = list(chunks)
    assert rest[-1] == b"data: second\n\n" and set(rest[:-1]) <= {KEEPALIVE}


def test_no_keepalive_comes_before_the_first_chunk():
    # The first chunk is computed before the answer starts, so a refused request still raises instead of streaming.
    release = threading.Event()

    async def slow_start():
        while not release.is_set():
            await asyncio.sleep(0.01)
        yield b"data: first\n\n"

    chunks = BackgroundLoop(name="test-loop").stream(slow_start(), idle_chunk=KEEPALIVE, idle_seconds=0.01)
    threading.Timer(0.2, release.set).start()
    assert next(chunks) == b"data: first\n\n"


def test_closing_the_stream_while_the_model_pauses_cancels_it():
    loop, cancelled = BackgroundLoop(name="test-loop"), threading.Event()

    async def answer():
        try:
            yield b"data: first\n\n"
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    chunks = loop.stream(answer(), idle_chunk=KEEPALIVE, idle_seconds=0.05)
    next(chunks)
    assert next(chunks) == KEEPALIVE
    chunks.close()  # what the server does when writing the keep-alive fails
    assert cancelled.wait(5)
