"""Streams in other languages: espeak-ng speaks a short stream in each; the language is
detected right, the multilingual model transcribes it (word error rate, or character
error rate for Japanese, within bounds), and its sentences, captions and title come out
in that language and script. One model load for the module."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from clipforge.analysis import bounds, captions, scripts, speech_models, titles, transcribe
from clipforge.config import Settings
from clipforge.domain import Chunk, Segment
from clipforge.media import ffmpeg
from tests.conftest import CliRunner
from tools.speech import STREAMS, Speech, error_rate, speak

MAX_ERROR = 0.35


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The multilingual model, joined from its packages into a fresh data folder."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    folder = speech_models.installed(settings.models_dir)
    assert speech_models.verify(folder)
    return transcribe.load_model(settings.multilingual_model, "int8", 2, 1,
                                 settings.models_dir)


@pytest.mark.parametrize("language", list(STREAMS))
def test_a_stream_in_the_language(language: str, model: object, tmp_path: Path) -> None:
    speech = STREAMS[language]
    wav = speak(tmp_path, speech)
    samples = ffmpeg.Pcm(wav)
    length = len(samples) / ffmpeg.AUDIO_RATE
    detected = transcribe.detect_language(samples[:], model, Settings().detect_languages)
    assert detected.language == language, detected
    segments = list(transcribe.transcribe(Chunk(0, 0.0, length, str(wav)), model, language))
    said = scripts.join_words([w.word for s in segments for w in s.words])
    rate = error_rate(language, speech.reference, said)
    assert rate <= MAX_ERROR, said
    assert_in_language(segments, speech, length)


def assert_in_language(segments: list[Segment], speech: Speech, length: float) -> None:
    """Sentences, captions and a title, all in the stream's script."""
    spoken = bounds.sentences(segments)
    assert spoken and sum(len(s.text) for s in spoken) >= len(speech.reference) // 2
    assert all(scripts.script(s.text) == speech.script for s in spoken), spoken
    if speech.script == "cjk":  # no spaces between Japanese words
        assert not any(" " in s.text.strip() for s in spoken), spoken
    words = [w for s in segments for w in s.words]
    subs = captions.build(words, 0.0, length)
    shown = [re.sub(r"\{[^}]*\}", "", e.text).replace("\\N", "") for e in subs.events]
    assert shown and all(scripts.script(t) == speech.script for t in shown), shown
    expected = "Noto Sans CJK JP" if speech.script == "cjk" else "DejaVu Sans"
    assert subs.styles["Default"].fontname == expected
    for page in captions.pages(words):  # a line fits the frame, spaces or none
        for line in page:
            width = scripts.width(scripts.join_words([w.word for w in line]))
            assert width <= captions.LINE_CHARS + 12 or len(line) == 1, line
    title = titles.title(spoken, 0.0, length, length / 2)
    assert title != titles.FALLBACK and scripts.script(title) == speech.script, title


def test_a_spanish_recording_through_the_cli(tmp_path: Path, run_cli: CliRunner) -> None:
    """`--language auto` end to end: detected once, written into report.json, and the
    transcript, the clip's title and its burned-in captions are Spanish."""
    said = [(150, 1, "Hola a todos, bienvenidos al directo de hoy. Muchas gracias por estar "
                     "aquí otra vez. Hoy vamos a jugar una partida nueva."),
            (170, 4, "Mirad esto, no me lo puedo creer. Es increíble, qué locura."),  # loud
            (150, 1, "Bueno, seguimos con la partida. Vamos a ver qué pasa ahora.")]
    parts = []
    for i, (rate, _gain, text) in enumerate(said):
        part = tmp_path / f"part{i}.wav"
        subprocess.run(["espeak-ng", "-v", "es", "-s", str(rate), "-w", str(part), text],
                       check=True, timeout=60)
        parts += ["-i", str(part)]
    video = tmp_path / "directo.mp4"
    mix = "".join(f"[{i}]aresample=16000,volume={gain}[a{i}];"
                  for i, (_, gain, _) in enumerate(said))
    subprocess.run(["ffmpeg", "-v", "error", "-y", *parts, "-f", "lavfi", "-i",
                    "color=c=0x335577:s=640x360:r=15:d=40", "-filter_complex",
                    mix + "[a0][a1][a2]concat=n=3:v=0:a=1[a]", "-map", "3:v", "-map", "[a]",
                    "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    str(video)], check=True, timeout=120)
    out = tmp_path / "out"
    proc = run_cli("process", str(video), "--language", "auto", "--min-len", "6",
                   "--max-len", "12", "--top", "1", "--out", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["stream"]["language"] == "es"
    text = " ".join(s["text"] for s in report["transcript"])
    assert error_rate("es", " ".join(t for *_, t in said), text) <= MAX_ERROR, text
    (clip,) = report["clips"]
    assert scripts.script(clip["title"]) == "latin" and clip["title"] != titles.FALLBACK
    burned = (out / clip["file"]).with_suffix(".srt").read_text()
    shown = re.findall(r"[^\W\d_]+", burned.lower())
    # The burned-in captions are words of the Spanish transcript.
    assert shown and set(shown) <= set(re.findall(r"[^\W\d_]+", text.lower())), burned
