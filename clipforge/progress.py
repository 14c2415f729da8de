"""How long work tells the outside world how far it got: a terminal bar in the CLI,
`job.progress` events in the server (execution/progress_events.py)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def begin(self, stage: str, total: float) -> None: ...

    def advance(self, stage: str, amount: float) -> None: ...

    def end(self, stage: str, skipped: bool = False) -> None: ...

    def item(self, stage: str, name: str, fraction: float, seconds_left: float | None
             ) -> None:
        """How far one job of a stage got (a clip's render), for displays that show it."""


class NullProgress:
    def begin(self, stage: str, total: float) -> None:
        pass

    def advance(self, stage: str, amount: float) -> None:
        pass

    def end(self, stage: str, skipped: bool = False) -> None:
        pass

    def item(self, stage: str, name: str, fraction: float, seconds_left: float | None
             ) -> None:
        pass
