"""chat/loop.py's bridge from the chat's event loop to a streamed answer: what it yields while the model pauses."""

import asyncio
import threading

from chat.loop import BackgroundLoop

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
