"""A per-streamer re-ranker learned from approve/reject history.

Logistic regression (scikit-learn) on the same per-clip features the default score uses.
The fitted model is kept as plain numbers (scaler and coefficients, JSON-ready), so using
it needs only numpy and nothing is unpickled. Until a streamer has enough labels of both
kinds, `train` returns None and the default weights stand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from clipforge.analysis.score import DEFAULT_WEIGHTS
from clipforge.domain import Candidate

FEATURES: tuple[str, ...] = tuple(DEFAULT_WEIGHTS)
# Chat features renamed when chat came to be counted by people (issue 18): clips stored
# before then, and rankers trained on them, still line up with the new names.
RENAMED = {"chat_rate": "chat_people", "chat_emotes": "chat_reactions"}
MIN_LABELS = 12
MIN_PER_CLASS = 4


@dataclass(frozen=True)
class Reranker:
    features: tuple[str, ...]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    labels: int  # how many labels it learned from

    def probability(self, features: dict[str, float]) -> float:
        """How likely this streamer approves a clip with these features."""
        x = np.array([value(features, name) for name in self.features])
        z = (x - np.array(self.mean)) / np.array(self.scale)
        return float(1.0 / (1.0 + np.exp(-(z @ np.array(self.coef) + self.intercept))))

    def __call__(self, candidates: list[Candidate]) -> list[Candidate]:
        """Candidates reordered by approval probability (default score breaks ties)."""
        return sorted(candidates, key=lambda c: (-round(self.probability(c.features), 3),
                                                 -c.score))

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict) -> Reranker:
        return cls(**{**raw, "features": tuple(raw["features"])})


def value(features: dict[str, float], name: str) -> float:
    """A feature's value, found under its old or new name."""
    if name in features:
        return features[name]
    other = RENAMED.get(name) or next((old for old, new in RENAMED.items() if new == name), "")
    return features.get(other, 0.0)


def train(examples: list[dict[str, float]], approved: list[bool]) -> Reranker | None:
    """Fit on labelled clips; None while there are too few labels of either kind."""
    positives = sum(approved)
    if len(approved) < MIN_LABELS or min(positives, len(approved) - positives) < MIN_PER_CLASS:
        return None
    from sklearn.linear_model import LogisticRegression

    x = np.array([[value(ex, name) for name in FEATURES] for ex in examples])
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit((x - mean) / scale, np.array(approved, dtype=int))
    return Reranker(features=FEATURES, mean=mean.round(6).tolist(),
                    scale=scale.round(6).tolist(), coef=model.coef_[0].round(6).tolist(),
                    intercept=round(float(model.intercept_[0]), 6), labels=len(approved))
