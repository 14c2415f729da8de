"""Readers of the events outbox never miss or reorder a committed event, on PostgreSQL with
concurrent transactions. Event ids are drawn when an event is written, not when its
transaction commits: transaction A writes event 1 and is still open when B writes event 2
and commits. A reader that follows "id > last seen" passes 2 and never sees 1. The
ledger's readers (`/api/events`, /ws and the Redis relay) hold B's event back until A has
committed, then give A's and B's, in that order, to every reader."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from clipforge.storage import ledger
from clipforge.storage.models import EventRow, StreamRow
from clipforge.storage.repository import Repository
from tests.servers import Server, pg_database


@pytest.fixture
def repo() -> Iterator[Repository]:
    with pg_database() as url:
        repository = Repository(url)  # migrated to the newest schema
        yield repository
        repository.engine.dispose()


class LateCommit:
    """Transaction A writes `early` (the smaller id) and stays open while B writes `late`
    and commits; `commit_early()` ends A. Both are events of one stream of the default
    workspace (readers of the API see their workspace's streams' events)."""

    def __init__(self, repo: Repository) -> None:
        with repo.session() as s:
            stream = StreamRow(key=f"race-{id(self)}", source="x.mp4", duration=1.0,
                               info={}, options={})
            s.add(stream)
            s.flush()
            stream_id = stream.id
        self.early = Session(repo.engine)
        ledger.emit(self.early, "early", stream_id)
        self.early.flush()  # its id is drawn now; it commits later
        with Session(repo.engine) as late:
            ledger.emit(late, "late", stream_id)
            late.flush()
            # Long enough ago that a reader waiting out gaps by the clock gives up on A.
            late.execute(update(EventRow).where(EventRow.name == "late")
                         .values(created_at=datetime.now(UTC) - timedelta(minutes=5)))
            late.commit()

    def commit_early(self) -> None:
        self.early.commit()
        self.early.close()


def test_the_ledger_holds_back_an_event_of_a_later_transaction(repo: Repository) -> None:
    seen: list[EventRow] = []

    def read() -> None:
        with repo.session() as s:
            seen.extend(ledger.events_after(s, seen[-1].id if seen else 0))

    race = LateCommit(repo)
    read()
    assert seen == []  # "late" waits for the transaction still open before it
    race.commit_early()
    read()
    read()
    assert [e.name for e in seen] == ["early", "late"]
    with repo.session() as s:
        assert ledger.latest_cursor(s)[1] == seen[-1].id


def test_the_event_poll_api_never_skips_an_event_committed_late(repo: Repository,
                                                                tmp_path: Path) -> None:
    url = repo.engine.url.render_as_string(hide_password=False)
    server = Server(tmp_path / "data", url, pool=False)
    try:
        server.start()
        token = server.cli("user", "create", "reader").strip()
        names: list[str] = []
        last = 0
        with server.client(token) as api:
            def poll() -> None:
                nonlocal last
                got = api.get("/api/events", params={"since": last})
                assert got.status_code == 200, got.text
                for event in got.json():
                    names.append(event["name"])
                    last = event["id"]

            race = LateCommit(repo)
            poll()
            race.commit_early()
            poll()
            poll()
        assert names == ["early", "late"]
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


def test_the_relay_sends_events_in_commit_order_without_gaps(repo: Repository,
                                                             tmp_path: Path) -> None:
    import json

    from clipforge.execution.relay import STREAM, Relay
    from tests.cluster import redis_server

    with redis_server(tmp_path / "redis") as redis:
        relay = Relay(repo, redis.url)
        race = LateCommit(repo)
        relay.relay()
        race.commit_early()
        relay.relay()
        relay.relay()
        entries = relay.redis.xrange(STREAM)
        relay.redis.close()
    names = [json.loads(fields[b"event"])["name"] for _id, fields in entries]
    assert names == ["early", "late"]
