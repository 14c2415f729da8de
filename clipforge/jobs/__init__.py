"""The job stages: one module per stage, declared once in `registry.py`."""
