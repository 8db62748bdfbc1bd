"""The app's one clock: today's date for every comparison with a day OpenAI published (shutdowns, deprecations).

`create_app` takes a `CLOCK` in its test configuration (a `FixedClock`); everything else asks the app's clock
(`current_clock()`), so no code and no test reads the machine's date on its own."""

from datetime import date, datetime, timezone

from flask import current_app, has_app_context


class Clock:
    """The machine's clock, in UTC: OpenAI's dates are UTC days."""

    def now(self):
        return datetime.now(timezone.utc)

    def today(self):
        """Today as YYYY-MM-DD, the form the catalog's dates take (they compare as text)."""
        return self.now().date().isoformat()


class FixedClock(Clock):
    """A clock standing on one day (a `date` or YYYY-MM-DD), at noon UTC: for tests and for trying a date ahead."""

    def __init__(self, day):
        self.day = day if isinstance(day, date) else date.fromisoformat(day)

    def now(self):
        return datetime(self.day.year, self.day.month, self.day.day, 12, tzinfo=timezone.utc)


SYSTEM_CLOCK = Clock()


def current_clock():
    """The app's clock inside an app context; the machine's outside one (a CLI tool, the sandbox)."""
    return current_app.extensions.get("clock", SYSTEM_CLOCK) if has_app_context() else SYSTEM_CLOCK
