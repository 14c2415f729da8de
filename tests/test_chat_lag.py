"""Chat lag is recovered from a generated stream within a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clipforge.analysis import score, signals
from clipforge.domain import ChatMessage
from clipforge.media import ffmpeg
from tools import chatgen


@pytest.fixture(scope="module")
def stream_audio(stream_3min: Any, tmp_path_factory: pytest.TempPathFactory
                 ) -> signals.AudioSignals:
    wav = tmp_path_factory.mktemp("lag") / "audio.wav"
    ffmpeg.extract_audio(Path(stream_3min.video), wav)
    return signals.audio_signals(ffmpeg.read_wav(wav), int(np.ceil(stream_3min.duration)))


@pytest.mark.parametrize("lag", [2, 5, 10])
def test_chat_lag_is_recovered(stream_3min: Any, stream_audio: signals.AudioSignals,
                               lag: int) -> None:
    seconds = int(np.ceil(stream_3min.duration))
    raw = chatgen.make_chat(stream_3min.duration, stream_3min.highlights, lag, seed=lag)
    chat = signals.chat_signals([ChatMessage(**m) for m in raw], seconds)
    inputs = score.Inputs(seconds=seconds, audio=stream_audio, segments=[], chat=chat)
    _table, estimated = score.feature_table(inputs)
    assert abs(estimated - lag) <= 1, (estimated, lag)
