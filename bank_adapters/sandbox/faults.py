"""Fault switches of the sandbox bank and the delivery of its callbacks under them.

Switches apply to every callback until changed (`POST /sandbox/faults`, JSON body with any
of the fields below; `DELETE /sandbox/faults` resets). Tests and the demo flip them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Faults:
    delay_seconds: float = 0.0  # wait before sending the callback
    drop: bool = False  # never send it (PayGov must recover by querying)
    duplicate: bool = False  # send it twice
    out_of_order: bool = False  # also send a stale earlier notification after the final one
    alter_amount: int = 0  # add this many VND to the amount in the callback (signed correctly)
    bad_signature: bool = False  # corrupt the signature

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            setattr(self, name, type(getattr(self, name))(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Send = Callable[[], Awaitable[None]]


class Dispatcher:
    """Sends callbacks in the background, applying the fault switches."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent: list[str] = []  # a log of what was sent, for people and tests

    def schedule(self, label: str, final: Send, stale: Send | None = None) -> None:
        """Deliver `final` (and, out of order, `stale` after it) under the current faults."""
        faults = Faults(**self.faults.as_dict())  # a snapshot: later switches don't apply
        task = asyncio.create_task(self._deliver(label, faults, final, stale))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, label: str, faults: Faults, final: Send, stale: Send | None) -> None:
        if faults.drop:
            self.sent.append(f"dropped {label}")
            return
        if faults.delay_seconds:
            await asyncio.sleep(faults.delay_seconds)
        for _ in range(2 if faults.duplicate else 1):
            await self._attempt(label, final)
        if faults.out_of_order and stale is not None:
            await self._attempt(f"stale {label}", stale)

    async def _attempt(self, label: str, send: Send) -> None:
        try:
            await send()
            self.sent.append(f"sent {label}")
        except Exception as exc:  # the sandbox logs and moves on, like a bank would
            log.warning("callback %s failed: %s", label, exc)
            self.sent.append(f"failed {label}: {type(exc).__name__}")

    async def drain(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
