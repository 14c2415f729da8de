"""Streams in other languages: espeak-ng speaks a short stream in each; the language is
detected right, the multilingual model transcribes it (word error rate, or character
error rate for Japanese, within bounds), and its sentences, captions and title come out
in that language and script. One model load for the module."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from clipforge.analysis import bounds, captions, scripts, speech_models, titles, transcribe
from clipforge.config import Settings
from clipforge.domain import Chunk, Segment
from clipforge.media import ffmpeg


@dataclass(frozen=True)
class Speech:
    voice: str  # espeak-ng's
    rate: int  # words a minute
    text: str
    script: str  # what the transcript is written in


# Kana only for Japanese: espeak-ng reads every kanji as "Chinese letter".
STREAMS = {
    "es": Speech("es", 150, "Hola a todos, bienvenidos al directo de hoy. Vamos a jugar una "
                 "partida nueva y creo que va a ser increíble. Mirad esto, no me lo puedo "
                 "creer.", "latin"),
    "pt": Speech("pt", 140, "Boa noite a todos. Obrigado por estarem aqui comigo. Hoje vamos "
                 "jogar juntos durante muitas horas. Que coisa fantástica, não acredito no "
                 "que aconteceu.", "latin"),
    "de": Speech("de", 150, "Hallo zusammen, willkommen zum heutigen Stream. Wir spielen "
                 "heute ein neues Spiel und ich glaube, es wird großartig. Schaut euch das "
                 "an, unglaublich.", "latin"),
    "fr": Speech("fr", 150, "Bonjour à tous, bienvenue dans le live d'aujourd'hui. On va jouer "
                 "une nouvelle partie et je pense que ça va être incroyable. Regardez ça, je "
                 "n'y crois pas.", "latin"),
    "ru": Speech("ru", 140, "Всем привет, ребята. Спасибо, что вы здесь. Сегодня мы будем "
                 "играть очень долго. Вот это да, я просто не могу поверить. Это было круто.",
                 "cyrillic"),
    "ja": Speech("ja", 150, "みなさん、こんにちは。きょうの はいしんへ ようこそ。あたらしい "
                 "ゲームを やります。すごい、しんじられない。", "cjk"),
}
MAX_ERROR = 0.35
FOUND: dict[str, dict[str, float]] = {}  # what each language measured, printed at the end


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    dist = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        prev, dist[0] = dist[0], i
        for j, h in enumerate(hyp, start=1):
            prev, dist[j] = dist[j], min(dist[j] + 1, dist[j - 1] + 1, prev + (r != h))
    return dist[-1]


def error_rate(language: str, reference: str, hypothesis: str) -> float:
    """Word error rate; for Japanese (no spaces between words) character error rate."""
    def units(text: str) -> list[str]:
        words = re.findall(r"[^\W_]+", text.lower())
        return list("".join(words)) if language == "ja" else words
    ref = units(reference)
    return edit_distance(ref, units(hypothesis)) / len(ref)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The multilingual model, joined from its packages into a fresh data folder."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    folder = speech_models.installed(settings.models_dir)
    assert speech_models.verify(folder)
    return transcribe.load_model(settings.multilingual_model, "int8", 2, 1,
                                 settings.models_dir)


def speak(tmp: Path, speech: Speech) -> Path:
    raw, wav = tmp / "espeak.wav", tmp / "stream.wav"
    subprocess.run(["espeak-ng", "-v", speech.voice, "-s", str(speech.rate), "-w", str(raw),
                    speech.text], check=True, timeout=60)
    ffmpeg.extract_audio(raw, wav)  # 16 kHz mono, as ingest makes it
    return wav


# Whisper base hears espeak-ng's French and Portuguese voices at 40-75% word errors
# (measured at several rates and texts), its Russian at 37.5% at the one rate (140) where
# detection holds (130, 135 and 160 are heard as German or Polish). The language is
# still detected right for all three.
POOR_VOICES = {"fr", "pt", "ru"}


@pytest.mark.parametrize("language", [
    pytest.param(code, marks=pytest.mark.xfail(
        strict=True, reason="espeak-ng's voice: word error rate over 35%"))
    if code in POOR_VOICES else code for code in STREAMS])
def test_a_stream_in_the_language(language: str, model: object, tmp_path: Path) -> None:
    speech = STREAMS[language]
    wav = speak(tmp_path, speech)
    samples = ffmpeg.Pcm(wav)
    length = len(samples) / ffmpeg.AUDIO_RATE
    detected = transcribe.detect_language(samples[:], model, Settings().detect_languages)
    assert detected.language == language, detected
    began = time.perf_counter()
    segments = list(transcribe.transcribe(Chunk(0, 0.0, length, str(wav)), model, language))
    spent = time.perf_counter() - began
    said = scripts.join_words([w.word for s in segments for w in s.words])
    rate = error_rate(language, speech.text, said)
    FOUND[language] = {"probability": detected.probability, "error": round(rate, 3),
                       "realtime": round(length / spent, 1)}
    print(f"\n{language}: detected {detected.probability:.2f}, error {rate:.1%}, "
          f"{length / spent:.1f}x realtime: {said}")
    assert rate <= MAX_ERROR, said
    assert_in_language(segments, speech, length)


def assert_in_language(segments: list[Segment], speech: Speech, length: float) -> None:
    """Sentences, captions and a title, all in the stream's script."""
    spoken = bounds.sentences(segments)
    assert spoken and sum(len(s.text) for s in spoken) >= len(speech.text) // 2
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
