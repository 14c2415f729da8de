"""The per-streamer re-ranker and the feedback command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from clipforge.analysis import rerank
from clipforge.domain import Candidate
from tests.conftest import CliRunner


def moment(rng: np.random.Generator, kind: str) -> dict[str, float]:
    """Features of a loud moment (shouting) or a chat-driven one (a funny line)."""
    base = {name: float(abs(rng.normal(0, 0.4))) for name in rerank.FEATURES}
    if kind == "loud":
        base.update(loudness=3 + rng.normal(0, 0.6), brightness=2 + rng.normal(0, 0.5))
    else:
        base.update(chat_people=2.5 + rng.normal(0, 0.6), chat_reactions=2 + rng.normal(0, 0.6),
                    loudness=1.5 + rng.normal(0, 0.6))
    return base


def test_no_model_until_enough_labels_of_both_kinds() -> None:
    rng = np.random.default_rng(0)
    few = [moment(rng, "loud") for _ in range(5)]
    assert rerank.train(few, [True] * 5) is None
    many = [moment(rng, "loud") for _ in range(30)]
    assert rerank.train(many, [True] * 30) is None  # only approvals: nothing to contrast


def test_learns_a_preference_and_lifts_held_out_precision() -> None:
    rng = np.random.default_rng(1)
    kinds = ["loud", "chat"] * 20
    train_x = [moment(rng, k) for k in kinds]
    ranker = rerank.train(train_x, [k == "chat" for k in kinds])  # this streamer likes chat
    assert ranker is not None
    lifts = []
    for _stream in range(5):  # held-out streams: 10 candidates, defaults favour loud ones
        pool = []
        for i, kind in enumerate(["loud"] * 5 + ["chat"] * 5):
            feats = moment(rng, kind)
            default = 10 - i + rng.normal(0, 0.1)
            pool.append(Candidate(rank=i + 1, start=i * 60, end=i * 60 + 20, peak=i * 60 + 10,
                                  score=default, reasons={}, title=kind, features=feats))
        default_top = [c.title for c in sorted(pool, key=lambda c: -c.score)[:5]]
        reranked_top = [c.title for c in ranker(pool)[:5]]
        lifts.append(reranked_top.count("chat") - default_top.count("chat"))
    assert np.mean(lifts) >= 3


def test_json_round_trip_keeps_predictions() -> None:
    rng = np.random.default_rng(2)
    kinds = ["loud", "chat"] * 10
    ranker = rerank.train([moment(rng, k) for k in kinds], [k == "loud" for k in kinds])
    assert ranker is not None
    again = rerank.Reranker.from_json(json.loads(json.dumps(ranker.to_json())))
    probe = moment(rng, "loud")
    assert abs(again.probability(probe) - ranker.probability(probe)) < 1e-9


def test_feedback_command_labels_clips(run_cli: CliRunner, bad_inputs: dict[str, Path],
                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("process", str(bad_inputs["audio_only"]), "--out", str(out), "--no-render",
                   "--min-len", "3", "--max-len", "8", "--top", "2", "-q")
    assert proc.returncode == 0, proc.stderr
    clips = json.loads((out / "report.json").read_text())["clips"]
    assert clips and all(c["file"] == "" for c in clips)
    done = run_cli("feedback", "approve", clips[0]["id"])
    assert done.returncode == 0, done.stderr
    assert f"{clips[0]['id']}: approved (default: 1 labels, default ranking)" in done.stdout
    missing = run_cli("feedback", "reject", "nope")
    assert missing.returncode == 2
    assert missing.stderr.strip() == ("clipforge: error: clip nope: no such clip; the ids are "
                                      "in report.json")


def test_clips_stored_with_the_old_chat_feature_names_still_count() -> None:
    rng = np.random.default_rng(3)
    kinds = ["loud", "chat"] * 10
    ranker = rerank.train([moment(rng, k) for k in kinds], [k == "chat" for k in kinds])
    assert ranker is not None
    probe = moment(rng, "chat")
    renamed = {next((old for old, new in rerank.RENAMED.items() if new == k), k): v
               for k, v in probe.items()}
    assert "chat_rate" in renamed and "chat_people" not in renamed
    assert abs(ranker.probability(probe) - ranker.probability(renamed)) < 1e-9
