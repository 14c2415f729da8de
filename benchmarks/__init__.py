"""Benchmarks that print their figures as JSON; run from the repository root as modules:

    python -m benchmarks.pipeline [--duration 600]
"""
