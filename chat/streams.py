"""Slots for streamed chat answers in this worker process: a few per admin, a bounded number in all."""

import threading

from core.errors import ApiError

# A streamed answer takes seconds; by then one of the admin's streams has usually ended.
STREAM_RETRY_AFTER_SECONDS = 5


class StreamSlots:
    """Counts the chat answers streaming now; `take` raises 429 too_many_streams over a cap, else returns release()."""

    def __init__(self):
        self._lock = threading.Lock()
        self._per_admin = {}
        self._total = 0

    def take(self, admin, per_admin, per_worker):
        with self._lock:
            mine = self._per_admin.get(admin, 0)
            if mine >= per_admin:
                answers = "answer" if mine == 1 else "answers"
                raise _too_many(f"You have {mine} chat {answers} streaming already; wait for one to finish.")
            if self._total >= per_worker:
                raise _too_many(f"The server is streaming {self._total} chat answers already "
                                "(CHAT_MAX_STREAMS_PER_WORKER); try again in a few seconds.")
            self._per_admin[admin] = mine + 1
            self._total += 1
        return self._releaser(admin)

    def streaming(self, admin=None):
        with self._lock:
            return self._total if admin is None else self._per_admin.get(admin, 0)

    def _releaser(self, admin):
        released = threading.Event()

        def release():
            # Called from the stream's finally and from the response's close: whichever comes first counts.
            with self._lock:
                if released.is_set():
                    return
                released.set()
                self._total -= 1
                left = self._per_admin[admin] - 1
                if left:
                    self._per_admin[admin] = left
                else:
                    del self._per_admin[admin]

        return release


def _too_many(message):
    return ApiError(429, "too_many_streams", message, retry_after=STREAM_RETRY_AFTER_SECONDS)


# One per worker process: the cap is on what this process holds open.
stream_slots = StreamSlots()
