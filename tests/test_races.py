"""Rows made on first use (a workspace's `default` streamer, a stream, a publication) are
made once when two transactions ask for them at the same moment, on PostgreSQL, where the
second insert waits on the first's unique index entry and then fails."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import sqlalchemy as sa

from clipforge.services.streamers import find_streamer
from clipforge.services.workspaces import default_id
from clipforge.storage.models import StreamerRow
from clipforge.storage.repository import Repository
from tests.servers import pg_database


def wait_until_blocked(repo: Repository, deadline: float = 30.0) -> None:
    """Until some other connection waits on a row lock (the second insert)."""
    end = time.monotonic() + deadline
    with repo.engine.connect() as db:
        while time.monotonic() < end:
            waiting = db.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))
            # PostgreSQL keeps the activity it showed until the transaction ends: end it, or
            # every poll would see the first one's snapshot (taken, under load, too early).
            db.rollback()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the second transaction never waited on the first's insert")


def test_two_first_uses_of_a_streamer_make_one_row() -> None:
    with pg_database() as url:
        repo = Repository(url)
        try:
            with repo.session() as s:
                workspace = default_id(s)
            first = repo._sessions()
            try:
                mine = find_streamer(first, "newcomer", workspace)  # inserted, not committed
                seen = threading.Event()

                def other() -> int:
                    with repo.session() as s:
                        seen.set()
                        return find_streamer(s, "newcomer", workspace).id

                with ThreadPoolExecutor(1) as pool:
                    theirs: Future[int] = pool.submit(other)
                    try:
                        assert seen.wait(10)
                        wait_until_blocked(repo)
                        first.commit()
                    finally:  # on a failure too: the other insert waits on this one
                        first.close()
                    assert theirs.result(timeout=30) == mine.id
            finally:
                first.close()
            with repo.session() as s:
                rows = s.scalars(sa.select(StreamerRow).where(
                    StreamerRow.name == "newcomer")).all()
            assert len(rows) == 1
        finally:
            repo.engine.dispose()
