"""The one clock: what time it is, in UTC, at the precision MongoDB stores.

Everything that needs the time receives a ``Clock`` (the composition root hands
out ``utc_now``; tests hand in a clock they move), so the whole app agrees.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, in UTC, at the millisecond precision MongoDB stores.

    Truncating here means a value returned to a client equals the one read back later.
    """
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
