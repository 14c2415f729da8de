"""Languages: which ones ClipForge knows, and each one's words for hype, laughter and a
setup ("watch this") that a payoff follows.

Any of whisper's 99 languages can be transcribed and captioned (`--language CODE`);
the word lists below cover the languages most streamed on Twitch. Emotes in chat are the
same in every language (analysis/signals.py).
"""

from __future__ import annotations

from dataclasses import dataclass

# The languages with word lists, which `auto` chooses among by default.
NAMES = {
    "en": "English", "es": "Spanish", "pt": "Portuguese", "de": "German", "fr": "French",
    "ru": "Russian", "ja": "Japanese", "ko": "Korean", "it": "Italian", "pl": "Polish",
    "tr": "Turkish", "zh": "Chinese",
}
AUTO = "auto"


@dataclass(frozen=True)
class Words:
    hype: frozenset[str]  # words and phrases said at a highlight, lower case
    laughter: frozenset[str]  # laughter as it is transcribed
    setup: frozenset[str]  # what announces a moment ("watch this"): its payoff follows


def _w(text: str) -> frozenset[str]:
    return frozenset(t.strip() for t in text.split(",") if t.strip())


WORDS = {
    "en": Words(
        _w("insane, crazy, unbelievable, clutch, wow, omg, amazing, incredible, holy, wild, "
           "no way, oh my god, let's go, what, huge, yes"),
        _w("haha, hahaha, lol, lmao"), _w("watch this, look at this, check this out, "
                                          "wait for it, here we go, hold on")),
    "es": Words(
        _w("increíble, brutal, locura, qué locura, no puede ser, vamos, dios mío, madre mía, "
           "qué, wow, ostia, hostia, épico, sí, no me lo puedo creer"),
        _w("jaja, jajaja, jajajaja, jeje"), _w("mirad esto, mira esto, mirad, mira, atentos, "
                                               "esperad, ahí vamos, fijaos")),
    "pt": Words(
        _w("incrível, caramba, nossa, meu deus, vamos, bora, não acredito, que isso, "
           "sensacional, insano, sim, uau, absurdo"),
        _w("kkkk, kkk, haha, hahaha, rsrs"), _w("olha isso, olhem isso, olhem, olha, "
                                                "esperem, presta atenção, lá vamos nós")),
    "de": Words(
        _w("unglaublich, krass, wahnsinn, geil, los, alter, oh mein gott, was, ja, "
           "nein, mega, heftig, komm schon"),
        _w("haha, hahaha, hehe"), _w("schaut euch das an, schaut mal, passt auf, guckt mal, "
                                     "wartet, jetzt kommt's")),
    "fr": Words(
        _w("incroyable, dingue, énorme, allez, oh mon dieu, quoi, oui, trop fort, ouf, "
           "de ouf, c'est pas possible, je n'y crois pas, magnifique"),
        _w("haha, hahaha, mdr, ptdr"), _w("regardez ça, regardez, attendez, attention, "
                                          "c'est parti, voilà")),
    "ru": Words(
        _w("невероятно, круто, офигеть, давай, боже, что, да, жесть, вау, обалдеть, "
           "не может быть, ничего себе, вот это да"),
        _w("ахаха, хаха, хахаха, ахах"), _w("смотрите, смотри, внимание, подождите, "
                                            "погнали, вот")),
    "ja": Words(
        _w("すごい, やばい, まじ, うそ, えっ, なに, よし, きた, 最高, 神, やった, 信じられない, "
           "しんじられない, すげー"),
        _w("笑, 草, はは, ははは, ふふ"), _w("見て, みて, 見てて, みてて, ちょっと待って, いくよ")),
    "ko": Words(
        _w("대박, 미쳤다, 와, 헐, 진짜, 가자, 대단해, 말도 안 돼, 최고, 레전드"),
        _w("ㅋㅋ, ㅋㅋㅋ, ㅎㅎ, 하하"), _w("봐봐, 이거 봐, 잠깐만, 간다")),
    "it": Words(
        _w("incredibile, pazzesco, assurdo, dai, andiamo, oddio, mamma mia, cosa, sì, "
           "fantastico, non ci credo"),
        _w("ahah, ahahah, haha"), _w("guardate, guarda, aspettate, attenzione, ecco")),
    "pl": Words(
        _w("niesamowite, szok, kurczę, dawaj, jezu, co, tak, mega, nie wierzę, wow, "
           "ale jazda"),
        _w("haha, hahaha, xd"), _w("patrzcie, patrz, uwaga, czekajcie, zobaczcie")),
    "tr": Words(
        _w("inanılmaz, harika, vay, hadi, aman tanrım, ne, evet, efsane, çılgın, "
           "olamaz"),
        _w("haha, hahaha, sjsjsj"), _w("bakın, bak, izleyin, dikkat, bekleyin")),
    "zh": Words(
        _w("太强了, 牛, 厉害, 卧槽, 天啊, 什么, 好, 加油, 不可能, 绝了, 离谱"),
        _w("哈哈, 哈哈哈, 笑死"), _w("看, 看好了, 注意, 等一下, 来了")),
}


def words_for(language: str) -> Words:
    """The word lists of LANGUAGE; English's for a language without its own (its hype
    words then rarely match, and the other signals carry the score)."""
    return WORDS.get(language, WORDS["en"])


def normalise(value: str) -> str:
    """A language option as a code: lower case, `auto`, or a whisper language code."""
    return value.strip().lower().replace("_", "-").split("-")[0]
