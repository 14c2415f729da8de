"""The orchestrator's side of distributed mode (`clipforge serve` with CLIPFORGE_REDIS_URL):
no jobs run here; the sweeper sends queued jobs to the stage workers' queues and the relay
passes the events outbox on to Redis."""

from __future__ import annotations

from clipforge.config import Settings
from clipforge.execution.broker import Broker, Sweeper
from clipforge.execution.relay import Relay
from clipforge.storage import store
from clipforge.storage.repository import Repository


def enter_store(settings: Settings) -> None:
    """Work inside this machine's cache of the store (see storage/store.py)."""
    assert settings.cache_dir is not None
    settings.data_dir = settings.data_dir.resolve()  # the working directory changes
    store.enter(settings.storage_url, settings.cache_dir.resolve(), settings.s3_endpoint_url)


class DistributedOrchestrator:
    def __init__(self, settings: Settings) -> None:
        self.repo = Repository(settings.database_url)  # upgrades the schema: workers don't
        enter_store(settings)
        self.broker = Broker(settings.redis_url, settings.redispatch_seconds)
        self.sweeper = Sweeper(self.repo, self.broker, settings.sweep_seconds)
        self.relay = Relay(self.repo, settings.redis_url)

    def start(self) -> DistributedOrchestrator:
        self.sweeper.start()
        self.relay.start()
        return self

    def stop(self) -> None:
        self.sweeper.stop()
        self.relay.stop()
        self.broker.close()
        self.repo.engine.dispose()
