"""Speech in several languages, spoken by espeak-ng, and the error rates to judge a
transcript of it by: for tests/test_languages.py and benchmarks/languages.py."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from clipforge.media import ffmpeg


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

# English, for the English-only model's side of benchmarks/languages.py.
ENGLISH = Speech("en", 150, "Hello everyone, welcome back to the stream. Thanks for being "
                 "here again tonight. Today we are trying a brand new game and I think it will "
                 "be amazing. If you like the channel, do not forget to follow. Look at this, "
                 "I cannot believe it.", "latin")


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


def speak(tmp: Path, speech: Speech) -> Path:
    raw, wav = tmp / "espeak.wav", tmp / "stream.wav"
    subprocess.run(["espeak-ng", "-v", speech.voice, "-s", str(speech.rate), "-w", str(raw),
                    speech.text], check=True, timeout=60)
    ffmpeg.extract_audio(raw, wav)  # 16 kHz mono, as ingest makes it
    return wav
