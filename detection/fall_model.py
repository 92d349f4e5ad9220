"""The small learned part of fall detection: a regularised logistic regression on six features.

The features (``detection.fall_features``) are the physical stages of a fall — impact peak and
area, free fall, velocity, change of posture, stillness afterwards — so a linear
model on them stays interpretable: each weight says how much one stage counts. A logistic
regression with an L2 penalty (Hastie, Tibshirani, Friedman, *The Elements of Statistical
Learning*, §4.4) on a handful of such features is the kind of small, regularised model the
SisFall authors recommend over large black boxes for generalising to unseen (older) people
(Sucerquia et al. 2017). The weights are trained by ``bench/train_fall_model.py`` and shipped as
``fall_model.json`` next to this file (a few hundred bytes; nothing is downloaded).

>>> import numpy as np
>>> m = FallModel(names=("peak_g",), mean=(1.0,), scale=(1.0,), weights=(4.0,), bias=-6.0,
...               transforms=("identity",))
>>> round(m.probability(np.array([3.0])), 3)
0.881
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from detection.fall_features import FEATURE_NAMES

MODEL_PATH = Path(__file__).with_name("fall_model.json")

_TRANSFORMS = {
    "identity": lambda x: x,
    # Peaks and spreads are ratio-scale: a log makes "twice as hard" one step, at any size.
    "log": lambda x: np.log(np.maximum(x, 1e-3)),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FallModel:
    """``p = sigmoid(w · (T(x) - mean) / scale + b)``, one ``T`` per feature."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    transforms: tuple[str, ...]
    threshold: float = 0.5
    """Probability at which a candidate is a fall; chosen by training on held-out subjects."""

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Feature rows (..., k) in ``names`` order -> standardised model inputs."""
        x = np.asarray(x, dtype=np.float64)
        cols = [_TRANSFORMS[t](x[..., i]) for i, t in enumerate(self.transforms)]
        z = np.stack(cols, axis=-1)
        return np.asarray((z - np.asarray(self.mean)) / np.asarray(self.scale))

    def probability(self, x: np.ndarray) -> float:
        """Probability that one feature vector (k,) is a fall."""
        return float(self.probabilities(x[None, :])[0])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for feature rows (m, k)."""
        logit = self.transform(x) @ np.asarray(self.weights) + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logit, -50.0, 50.0))))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FallModel:
        return cls(
            names=tuple(data["names"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            weights=tuple(float(v) for v in data["weights"]),
            bias=float(data["bias"]),
            transforms=tuple(data["transforms"]),
            threshold=float(data.get("threshold", 0.5)),
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> FallModel:
        """The shipped model, or the hand-set fallback when no trained file is present."""
        if path == MODEL_PATH:
            return _shipped()
        return cls._read(path)

    @classmethod
    def _read(cls, path: Path) -> FallModel:
        if path.exists():
            model = cls.from_json(json.loads(path.read_text()))
            if model.names == FEATURE_NAMES:
                return model
        return HAND_SET


HAND_SET = FallModel(
    # Hand-set from the published thresholds before any training: a 2 g peak, a fall to
    # < 0.6 g, -0.7 m/s, 45 degrees of posture change, under 0.2 g of movement afterwards,
    # 0.2 g·s of impact. Used only if the trained file is missing.
    names=FEATURE_NAMES,
    mean=(float(np.log(2.0)), 0.6, -0.7, 45.0, float(np.log(0.2)), float(np.log(0.2))),
    scale=(0.3, 0.3, 0.7, 20.0, 0.7, 0.5),
    weights=(1.5, -0.5, -0.5, 2.0, -1.0, 1.5),
    bias=0.0,
    transforms=("log", "identity", "identity", "identity", "log", "log"),
)
assert HAND_SET.names == FEATURE_NAMES and len(HAND_SET.weights) == len(FEATURE_NAMES)


@cache
def _shipped() -> FallModel:
    # Read once per process: every FallConfig() would otherwise parse the file again.
    return FallModel._read(MODEL_PATH)
