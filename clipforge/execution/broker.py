"""Distributed mode's delivery: one Dramatiq queue per worker kind, on Redis.

The ledger (`jobs`) stays the source of truth; a message carries only a job id (and the
job's attempt count), and the worker that receives it claims the row with a lease. The
broker only delivers, at least once: a lost message is sent again by the sweeper, a
duplicate one finds its job finished or leased and is dropped.

A job is sent at most once per attempt: `clipforge:sent:<job>:<attempts>` is set in Redis
(SET NX) when it is sent. Every claim bumps `attempts`, so a job queued again (its worker
died, its lease ran out, it was retried) gets a new marker and is sent again; a job whose
message waits in Redis keeps its marker and is not. A restarted Redis loses its messages
and its markers together, so the sweeper sends everything queued again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from clipforge import errors
from clipforge.jobs import registry
from clipforge.storage import ledger
from clipforge.storage.repository import Repository

log = logging.getLogger("clipforge.queues")

def queue_of(stage: str) -> str:
    """The queue (worker kind) that runs STAGE, as the registry declares it."""
    return registry.stage(stage).worker.name


def kinds() -> list[str]:
    """The worker kinds that have stages to run (in pipeline order)."""
    return list(registry.WORKERS)


def ports() -> dict[str, int]:
    """The port of each worker kind's small HTTP app (health, metrics, run one job)."""
    return {name: w.port for name, w in registry.WORKERS.items()}


def _unassigned(job_id: int, attempts: int) -> None:
    raise errors.StateError(f"job {job_id}: this process does not run its queue")


class Broker:
    """The Redis broker with an actor per worker kind. `handler` runs a delivered job in
    the worker of `kind`; other kinds' actors are only sent to."""

    def __init__(self, redis_url: str, redispatch_seconds: float, kind: str | None = None,
                 handler: Callable[[int, int], None] | None = None) -> None:
        import dramatiq
        import redis
        from dramatiq.brokers.redis import RedisBroker

        self.redis = redis.Redis.from_url(redis_url, socket_timeout=10,
                                          socket_connect_timeout=3)
        # No Dramatiq retries, time or age limits: the ledger decides what runs again.
        self.broker = RedisBroker(middleware=[], namespace="clipforge", client=redis.Redis.from_url(
            redis_url, socket_timeout=10, socket_connect_timeout=3))
        self.redispatch = max(1, int(redispatch_seconds))
        self.actors = {
            name: dramatiq.Actor(handler if name == kind and handler else _unassigned,
                                 broker=self.broker, actor_name=f"clipforge_{name}",
                                 queue_name=name, priority=0, options={})
            for name in registry.WORKERS}

    def send(self, job_id: int, stage: str, attempts: int) -> bool:
        """Send the job unless this attempt of it was sent already; True if sent."""
        marker = f"clipforge:sent:{job_id}:{attempts}"
        if not self.redis.set(marker, 1, nx=True, ex=self.redispatch):
            return False
        try:
            self.actors[queue_of(stage)].send(job_id, attempts)
        except Exception:
            self.redis.delete(marker)
            raise
        return True

    def forget(self, job_id: int, attempts: int) -> None:
        """A delivery that could not even claim its job: let the sweeper send it again."""
        self.redis.delete(f"clipforge:sent:{job_id}:{attempts}")

    def dispatch(self, repo: Repository, stream_id: int | None = None) -> int:
        """Send every runnable queued job (of one stream) not sent yet; how many."""
        with repo.session() as s:
            jobs = ledger.runnable_queued(s, stream_id)
        return sum(self.send(job_id, stage, attempts) for job_id, stage, attempts in jobs)

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:
            return False

    def close(self) -> None:
        self.broker.close()
        self.redis.close()


class Sweeper:
    """Every few seconds: requeue jobs whose lease ran out (their worker died) and send
    queued jobs that have no message in flight. Runs in the orchestrator and in every
    worker; SET NX on the markers keeps them from sending a job twice."""

    def __init__(self, repo: Repository, broker: Broker, interval: float) -> None:
        self.repo, self.broker, self.interval = repo, broker, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name="clipforge-sweeper")
        self._failing = False

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def sweep(self) -> int:
        with self.repo.session() as s:
            expired = ledger.requeue_expired(s)
        if expired:
            log.warning("requeued jobs %s: their leases ran out", expired)
        return self.broker.dispatch(self.repo)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception as exc:  # Redis or the database away for a while: retry
                if not self._failing:
                    log.warning("sweeper: %s; retrying", exc)
                self._failing = True
            else:
                if self._failing:
                    log.warning("sweeper: working again")
                self._failing = False
