"""Running stages: the job ledger and the local pool (distributed workers come later)."""
