"""Streams in other languages: espeak-ng speaks a short stream in each; the language is
detected right, the multilingual model transcribes it (word error rate, or character
error rate for Japanese, within bounds), and its sentences, captions and title come out
in that language and script. One model load for the module."""

from __future__ import annotations

import json
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
from tests.conftest import CliRunner


@dataclass(frozen=True)
class Speech:
    voice: str  # espeak-ng's
    rate: int  # words a minute
    text: str  # what espeak-ng says
    script: str  # what the transcript is written in
    written: str = ""  # the reference, when it is written otherwise than TEXT is said

    @property
    def reference(self) -> str:
        return self.written or self.text


# A streamer's opening words: 14-25 s of several sentences each (whisper hears short
# synthetic snippets worse, and detects their language less surely). Portuguese in
# espeak-ng's Brazilian voice (its European one: 30-45% word errors) at 110-125 words a
# minute: from 130 on, whisper base hears that voice as Spanish. Japanese is said in kana
# (espeak-ng reads every kanji as "Chinese letter") and compared as it is written, with
# kanji, as whisper writes it.
STREAMS = {
    "es": Speech("es", 150, "Hola a todos, bienvenidos al directo de hoy. Muchas gracias por "
                 "estar aquí otra vez. Hoy vamos a jugar una partida nueva y creo que va a ser "
                 "increíble. Si os gusta el canal, no olvidéis seguirme. Mirad esto, no me lo "
                 "puedo creer.", "latin"),
    "pt": Speech("pt-br", 120, "Boa noite a todos, obrigado por estarem aqui comigo. Hoje "
                 "vamos jogar juntos durante muitas horas. Antes de começar, quero agradecer a "
                 "todos que seguiram o canal. Vamos tentar passar esta fase hoje. Que coisa "
                 "fantástica, não acredito no que aconteceu.", "latin"),
    "de": Speech("de", 150, "Hallo zusammen, willkommen zum heutigen Stream. Wir spielen heute "
                 "ein neues Spiel und ich glaube, es wird großartig. Vielen Dank an alle, die "
                 "neu dabei sind. Wir versuchen heute, das Level zu schaffen. Schaut euch das "
                 "an, unglaublich.", "latin"),
    "fr": Speech("fr", 150, "Salut tout le monde, merci d'être là ce soir. On commence une "
                 "nouvelle partie ensemble. Je vais essayer de finir ce niveau avant la fin du "
                 "live. N'oubliez pas de vous abonner à la chaîne. C'est vraiment incroyable, "
                 "je n'y crois pas.", "latin"),
    "ru": Speech("ru", 150, "Всем привет, ребята. Спасибо, что вы здесь. Сегодня мы будем "
                 "играть очень долго. Сначала попробуем пройти этот уровень. Не забудьте "
                 "подписаться на канал. Вот это да, я просто не могу поверить. Это было круто.",
                 "cyrillic"),
    "ja": Speech("ja", 150, "みなさん、こんにちは。きょうの はいしんへ ようこそ。あたらしい "
                 "ゲームを やります。さいごまで いっしょに あそびましょう。すごい、"
                 "しんじられない。", "cjk",
                 written="みなさん、こんにちは。今日の配信へようこそ。新しいゲームをやります。"
                 "最後まで一緒に遊びましょう。すごい、信じられない。"),
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


@pytest.mark.parametrize("language", list(STREAMS))
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
    rate = error_rate(language, speech.reference, said)
    FOUND[language] = {"probability": detected.probability, "error": round(rate, 3),
                       "realtime": round(length / spent, 1)}
    print(f"\n{language}: detected {detected.probability:.2f}, error {rate:.1%}, "
          f"{length / spent:.1f}x realtime: {said}")
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
