"""ClipForge: turn long livestream VODs into ranked, captioned vertical clips."""

__version__ = "0.1.0"
