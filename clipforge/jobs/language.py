"""The language job (`--language auto`): which language the stream is spoken in, heard
once from its first minutes of speech with the multilingual model. The stream keeps it;
every chunk is then transcribed in it, and the hype words, captions and titles follow."""

from __future__ import annotations

from dataclasses import dataclass

from clipforge import domain
from clipforge.analysis import languages, transcribe
from clipforge.jobs import flow
from clipforge.jobs.base import Finished, Result, spec
from clipforge.jobs.chunk import audio_path, chunk_spec
from clipforge.jobs.context import Run
from clipforge.media import ffmpeg
from clipforge.storage import artifacts, ledger
from clipforge.storage.ledger import JobSpec


@dataclass(frozen=True)
class LanguageInput:
    after: str  # the ingest job's key
    model: str  # the multilingual model that listens
    candidates: list[str]  # the languages it may choose


def language_spec(done: Finished) -> JobSpec:
    """The language job after the stream's ingest job (DONE)."""
    s = done.run.settings
    return spec("language", "stream", LanguageInput(
        after=done.job.key, model=s.multilingual_model,
        candidates=list(s.detect_languages) or list(languages.NAMES)))


def run(run: Run, inp: LanguageInput) -> Result:
    assert run.transcriber is not None, "the pool gives every run its speech models"
    samples = ffmpeg.Pcm(audio_path(run))
    heard = samples[: int(transcribe.DETECT_SECONDS * ffmpeg.AUDIO_RATE)]
    found = transcribe.detect_language(heard, run.transcriber(inp.model), inp.candidates)
    path = run.artifact(".json")
    output = {"language": found.language, "probability": found.probability}
    artifacts.write_json(path, output)
    run.progress.advance("language", 1.0)
    return Result(path, output)


def reads(run: Run, _inp: LanguageInput) -> list[str]:
    return [str(audio_path(run))]


def follow(done: Finished, _inp: LanguageInput) -> list[JobSpec]:
    """Keep the stream's language, say it, then chunk."""
    code = done.output["language"]
    done.stream.language = code
    name = languages.NAMES.get(code, code)
    ledger.emit(done.s, domain.STREAM_NOTICE, done.stream.id,
                message=f"Language detected: {name} ({code}, "
                        f"{done.output['probability']:.2f})")
    return [chunk_spec(done.run, flow.one(done.s, done.stream, "ingest"))]
