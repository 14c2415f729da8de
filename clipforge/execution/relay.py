"""The events outbox relayed to Redis, in distributed mode.

* Pub/sub channel `clipforge:events`: every event as JSON, as it is committed. The
  WebSocket uses it as a wake-up and reads the events from the database, so a message
  lost on the way (Redis restarting) costs a poll interval, never an event.
* Stream `clipforge:events:log`, entry id `<txid>-<event id>`: for consumers that must
  not miss one (`EventLog`: a consumer group; an entry is acknowledged once handled, and
  one left pending by a consumer that died is claimed by another). The explicit ids, in
  the order the relay reads, make a second relay's copy of an event a no-op.

The relay reads the outbox in the ledger's reading order (ledger.events_after_cursor):
an event whose transaction commits late is held back, never skipped.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from clipforge.storage import ledger
from clipforge.storage.models import EventRow
from clipforge.storage.repository import Repository

log = logging.getLogger("clipforge.relay")

CHANNEL = "clipforge:events"
STREAM = "clipforge:events:log"
STREAM_LENGTH = 100_000  # entries kept, roughly


def event_json(event: EventRow) -> dict[str, Any]:
    created = event.created_at
    return {"id": event.id, "name": event.name, "stream_id": event.stream_id,
            "payload": event.payload, "created_at": created.isoformat()}


class Relay:
    def __init__(self, repo: Repository, redis_url: str, interval: float = 0.2) -> None:
        import redis

        self.repo, self.interval = repo, interval
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5,
                                          socket_connect_timeout=3)
        with repo.session() as s:  # history stays in the database; relay what is new
            self.last: ledger.Cursor = ledger.latest_cursor(s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name="clipforge-relay")
        self._failing = False

    def start(self) -> Relay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.redis.close()

    def relay(self) -> int:
        """Send what was committed since the last call; how many events."""
        with self.repo.session() as s:
            rows = ledger.events_after_cursor(s, self.last, limit=500)
        for row in rows:
            self._send(event_json(row), f"{row.txid}-{row.id}")
            self.last = (row.txid, row.id)
        return len(rows)

    def _send(self, event: dict[str, Any], entry_id: str) -> None:
        import redis

        text = json.dumps(event)
        try:
            self.redis.xadd(STREAM, {"event": text}, id=entry_id,
                            maxlen=STREAM_LENGTH, approximate=True)
        except redis.ResponseError as exc:
            if "equal or smaller" not in str(exc):
                raise  # else: relayed already (another relay, or a retry)
        self.redis.publish(CHANNEL, text)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.relay()
            except Exception as exc:
                if not self._failing:
                    log.warning("relay: %s; retrying", exc)
                self._failing = True
            else:
                self._failing = False


class EventLog:
    """A consumer in a consumer group of the events stream: nothing is missed while the
    group exists; what a dead consumer left pending is claimed after `idle_ms`."""

    def __init__(self, redis_url: str, group: str, consumer: str,
                 idle_ms: int = 60_000) -> None:
        import redis

        self.redis = redis.Redis.from_url(redis_url, socket_timeout=10,
                                          socket_connect_timeout=3)
        self.group, self.consumer, self.idle_ms = group, consumer, idle_ms
        try:
            self.redis.xgroup_create(STREAM, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, count: int = 100, block_ms: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        """Events for this consumer: first those another consumer left unacknowledged,
        then new ones. Acknowledge each with `ack` once handled."""
        claimed: Any = self.redis.xautoclaim(STREAM, self.group, self.consumer, self.idle_ms,
                                        start_id="0-0", count=count)
        entries = list(claimed[1])
        if not entries:
            found: Any = self.redis.xreadgroup(self.group, self.consumer, {STREAM: ">"},
                                               count=count, block=block_ms)
            entries = [e for _stream, batch in found or [] for e in batch]
        return [(_text(entry_id), json.loads(_text(fields[b"event"])))
                for entry_id, fields in entries if fields]

    def ack(self, entry_id: str) -> None:
        self.redis.xack(STREAM, self.group, entry_id)

    def close(self) -> None:
        self.redis.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
