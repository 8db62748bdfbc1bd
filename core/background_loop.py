"""An asyncio loop in a daemon thread, for synchronous code that must run coroutines: the one home of that pattern.

Flask views are synchronous. Running each request in its own `asyncio.run` would give every request a new loop,
and the async OpenAI client the Agents SDK caches (its connection pool) is bound to the loop that created it, so
the second request would fail. Instead chat (chat/service.py) keeps one loop for the whole process; views submit
coroutines to it and read streamed chunks back through a thread-safe queue. The agent's MCP client runs on one too
(agent/mcp_tools.py), and the harness, the examples and the tests serve their aiohttp apps from one.
"""

import asyncio
import os
import queue
import threading

_DONE = object()


class BackgroundLoop:
    """An asyncio loop in a daemon thread, started on first use; `run` waits for a coroutine, `stream` turns an
    async iterator into a generator and cancels the producing task when the generator is closed early (the client
    went away), `stop` ends the loop. As a context manager it stops on exit."""

    def __init__(self, name="background-loop"):
        self._name = name
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None
        self._pid = None

    @property
    def loop(self):
        with self._lock:
            # A forked worker (gunicorn preload) inherits the object but not the thread: start a fresh loop.
            if self._loop is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name=self._name, daemon=True)
                self._thread.start()
                self._pid = os.getpid()
            return self._loop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self, timeout=10):
        """Stops the loop, waits (up to `timeout`) for its thread and closes it; a later `run` starts a fresh one."""
        with self._lock:
            loop, thread, pid = self._loop, self._thread, self._pid
            self._loop = self._thread = self._pid = None
        if loop is None or pid != os.getpid():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()

    def run(self, coroutine, timeout=None):
        """Runs `coroutine` on the loop and returns its result (or raises its exception) in the calling thread."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def stream(self, async_iterable, cancel_timeout=10, idle_chunk=None, idle_seconds=1.0):
        """A generator yielding what `async_iterable` yields. Closing the generator early (werkzeug and gunicorn
        do when the client disconnects) cancels the task on the loop, so the producer sees CancelledError and can
        record the cancellation; the generator waits (up to `cancel_timeout`) until it has.

        The servers only learn that a client left when a write fails, so with `idle_chunk` the generator yields it
        whenever nothing came for `idle_seconds`: a Stop or a closed tab cancels the run within about a second even
        while the model pauses (a tool call, a slow first token). Not before the first chunk, which callers compute
        ahead to refuse a bad request before the answer starts."""
        # Unbounded: SSE chunks are small and arrive at the model's pace. It also means the pump only ever waits
        # inside `async_iterable`, so a cancellation always lands there, where ChatKit handles it.
        chunks = queue.Queue()
        stopped = threading.Event()

        async def pump():
            try:
                async for chunk in async_iterable:
                    chunks.put_nowait(chunk)
                chunks.put_nowait(_DONE)
            except asyncio.CancelledError:
                raise
            except BaseException as error:  # handed to the reading thread, which re-raises it
                chunks.put_nowait(_Failure(error))
            finally:
                stopped.set()

        task_future = asyncio.run_coroutine_threadsafe(pump(), self.loop)

        def generate():
            wait = None
            try:
                while True:
                    try:
                        chunk = chunks.get(timeout=wait)
                    except queue.Empty:
                        yield idle_chunk
                        continue
                    if chunk is _DONE:
                        return
                    if isinstance(chunk, _Failure):
                        raise chunk.error
                    yield chunk
                    if idle_chunk is not None:
                        wait = idle_seconds
            finally:
                if not stopped.is_set():
                    task_future.cancel()
                    stopped.wait(cancel_timeout)

        return generate()


class _Failure:
    def __init__(self, error):
        self.error = error
