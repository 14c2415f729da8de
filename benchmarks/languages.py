"""Speech in each supported test language, as JSON: the detected language and its
probability, the word error rate (character error rate for Japanese) and the realtime
factor of transcription, with the model the product picks for that language (English:
the English-only model; the others: the multilingual one, beam search).

espeak-ng speaks each sample (tools/speech.py, the texts of tests/test_languages.py);
each is transcribed REPEAT times and the fastest run is reported, so a busy moment on
the machine does not count. One CPU thread per transcription, as each pool worker has.

    .venv/bin/python -m benchmarks.languages [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from clipforge.analysis import scripts, speech_models, transcribe
from clipforge.config import Settings
from clipforge.domain import Chunk
from clipforge.media import ffmpeg
from tools.speech import ENGLISH, STREAMS, Speech, error_rate, speak


def measure(speech: Speech, language: str, model: object, detector: object,
            settings: Settings, repeat: int, tmp: Path) -> dict[str, Any]:
    """DETECTOR (the multilingual model: the only one that can) detects the language,
    MODEL transcribes."""
    wav = speak(tmp, speech)
    samples = ffmpeg.Pcm(wav)
    length = len(samples) / ffmpeg.AUDIO_RATE
    detected = transcribe.detect_language(samples[:], detector, settings.detect_languages)
    best, said = float("inf"), ""
    for _ in range(repeat):
        began = time.perf_counter()
        segments = list(transcribe.transcribe(Chunk(0, 0.0, length, str(wav)), model,
                                              language))
        best = min(best, time.perf_counter() - began)
        said = scripts.join_words([w.word for s in segments for w in s.words])
    return {"language": language, "seconds": round(length, 1),
            "detected": detected.language, "probability": round(detected.probability, 2),
            "error": round(error_rate(language, speech.reference, said), 3),
            "realtime": round(length / best, 2), "transcript": said}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        speech_models.installed(settings.models_dir)
        compute = settings.whisper_compute_type
        english = transcribe.load_model(settings.whisper_model, compute, 1)
        multilingual = transcribe.load_model(settings.multilingual_model, compute, 1, 1,
                                             settings.models_dir)
        rows = [{"model": name, **measure(ENGLISH, "en", model, multilingual, settings,
                                          args.repeat, Path(tmp))}
                for name, model in ((settings.whisper_model, english),
                                    (settings.multilingual_model, multilingual))]
        rows += [{"model": settings.multilingual_model, **measure(
            speech, language, multilingual, multilingual, settings, args.repeat, Path(tmp))}
            for language, speech in STREAMS.items()]
    print(json.dumps({"threads": 1, "languages": rows}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
