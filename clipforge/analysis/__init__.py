"""Pure analysis: arrays, files and dataclasses in and out; no database, queue or web."""
