"""The mock's clock: monotonic time, or a virtual clock in deterministic mode (docs/mock.md "Deterministic
mode"). Shared by the queue, the webhooks and the stats, so that they agree on what time it is."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]

_DETERMINISTIC_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class Clock:
    """Seconds since the mock started counting.

    Args:
        virtual: True for the deterministic mode's virtual clock (starts at 0, moves only by :meth:`advance`),
            False for ``time.monotonic()``.
    """

    __slots__ = ("_epoch", "_t", "virtual")

    def __init__(self, *, virtual: bool) -> None:
        self.virtual = virtual
        self._t = 0.0
        self._epoch = (
            _DETERMINISTIC_EPOCH if virtual else datetime.now(UTC) - timedelta(seconds=time.monotonic())
        )

    def now(self) -> float:
        """The time, seconds."""
        return self._t if self.virtual else time.monotonic()

    def advance(self, seconds: float) -> bool:
        """Move a virtual clock forward by ``seconds`` (> 0); False (nothing done) for a real clock."""
        if self.virtual and seconds > 0:
            self._t += seconds
            return True
        return False

    def timestamp(self, t: float) -> str:
        """ISO 8601 UTC time of clock time ``t`` (``2025-01-01T00:00:00.000000Z`` is 0 on a virtual clock)."""
        return (self._epoch + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
