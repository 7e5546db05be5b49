"""The emulator's clock: real time plus an offset that tests move forward."""

from __future__ import annotations

import datetime as dt
import time


class Clock:
    """Wall and monotonic time, both shifted by the same adjustable offset."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset_seconds = offset_seconds

    def now(self) -> dt.datetime:
        """The emulator's current time (aware UTC)."""
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset_seconds)

    def timestamp(self) -> float:
        """The emulator's current time as seconds since the epoch."""
        return time.time() + self.offset_seconds

    def monotonic(self) -> float:
        """A monotonic reading that also jumps when the clock is advanced."""
        return time.monotonic() + self.offset_seconds

    def advance(self, seconds: float) -> None:
        """Move the clock by ``seconds`` (may be negative)."""
        self.offset_seconds += seconds

    def reset(self) -> None:
        """Go back to real time."""
        self.offset_seconds = 0.0
