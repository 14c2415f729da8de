"""Running jobs: the local pool, distributed workers, the broker, the event relay."""
