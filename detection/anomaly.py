"""A general streaming anomaly scorer: one value per timestamp in, a score in [0, 1] out.

Method: online novelty measures, each made scale-free by its own recent history, combined by
their maximum and followed by suppression after a report.

* *level*: the robust z-score of the value against the trailing window (median and MAD, the
  Hampel identifier; Hampel, "The influence curve and its role in robust estimation", JASA 1974),
  in the default at a quarter weight (``level_weight``) so that it adds only the far-out values
  the shape measures miss; *slow level* does the same for the mean of the last ``block`` values;
* *shape*: the distance from the last ``embed`` values (a delay embedding) to their nearest
  neighbour among earlier embeddings — KNN-CAD's idea (Burnaev & Ishimtsev, "Conformalized
  density- and distance-based anomaly detection in time-series data", 2016); *slow shape* embeds
  means of ``block`` values, so it sees a missing daily bump that the fast one cannot;
* *multiscale* (in the default with *range* and *level*): slow shape at several block sizes
  (``scales``, 3 to 48 samples), each normalised on its own, combined by the root mean square
  of their ratios — a pattern new at several time scales scores high, noise new at one scale
  only is diluted (multi-scale analysis as in the matrix profile literature; the RMS is ours,
  chosen on NAB's held-out halves, see docs/anomaly.md);
* *range*: how far the value lies outside everything seen so far, relative to that range
  (the "novel value" signal behind CAD OSE, the NAB scoreboard's context detector).

A level outlier that a value at least half as large matched at the same time of day (±30 min)
on one of the last three days is a routine, not news, and does not count (``recurring_days``;
:class:`detection.recurrence.DailyRecurrence`): a nightly job's load, a daily round.

Each measure (each block size of the multi-scale one) is divided by a high quantile of its own
past values, so ``1`` means "as unusual as the most unusual 0.5 % of the recent past" (for the
shape and level measures, the past of the latest ``recent_fraction`` of the samples seen, so
that their inflated first values expire); the raw
score is the largest ratio, squashed to [0, 1) by ``r / (r + 1)``. After a raw score above
``report_at`` the output is held at zero for ``quiet`` samples, because one early report per
event is what an operator (and NAB) wants — unless a sample ``escalate`` times more unusual
than that report arrives meanwhile. Online: a score depends only on the samples before and at
its timestamp; late or repeated timestamps and non-finite values are ignored.

>>> scorer = AnomalyScorer()
>>> calm = [Sample(timestamp=float(t), value=float(t % 7)) for t in range(600)]
>>> _ = scorer.score(calm)
>>> scorer.score([Sample(timestamp=600.0, value=60.0)])[0].score > 0.8
True
"""

from __future__ import annotations

import base64
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from detection.recurrence import DailyRecurrence
from detection.snapshots import config_dict


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    timestamp: float
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AnomalyScore:
    timestamp: float
    value: float
    score: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AnomalyConfig:
    warmup: int = 150
    """Samples scored 0 while the baselines form."""
    window: int = 1000
    """Trailing samples behind the level measures' median and MAD (300 until 2026-11-23
    evening; configurations that use a level measure name their own)."""
    embed: int = 6
    """Length of the delay embeddings behind the shape measures."""
    block: int = 12
    """Samples averaged into one step of the slow measures."""
    memory: int = 2000
    """Earlier embeddings each shape measure searches."""
    history: int = 1500
    """Past values of each measure behind its normalising quantile."""
    quantile: float = 0.995
    report_at: float = 0.7
    """Raw score (ratio to the normalising quantile) that counts as a report. 0.7 is the
    NAB-tuned value (false alarms are cheap there); an operator-facing stream wants 1.5 or more."""
    quiet: int = 200
    """Samples held at zero after a report."""
    escalate: float = 4.0
    """A sample this many times more unusual than the report that began a quiet period is
    reported all the same: a weak early report must not hide the real event behind it."""
    measures: tuple[str, ...] = ("range", "multiscale", "level")
    """Which of :data:`MEASURES` take part. Level takes part at a quarter weight
    (``level_weight``); at full weight it, and slow level, fire on every recurring daily spike.
    Until 2026-11-23 the default was ``("shape", "range", "slow_shape")``, then
    ``("range", "multiscale")`` until that evening (docs/anomaly.md)."""
    scales: tuple[int, ...] = (3, 6, 12, 24, 48)
    """Block sizes of the ``multiscale`` measure: one slow shape measure per block size, each
    normalised by its own quantile, combined by the root mean square of their ratios."""

    level_weight: float = 0.25
    """The level measure's ratio is multiplied by this before the maximum: at 0.25 a value is
    reported only when it lies four times as far from the trailing median (in MADs) as the
    most extreme 0.5 % of its recent past — a burst after a quiet spell, a spike out of its
    usual run — while the shape measures handle the ordinary ups and downs. Configurations saved
    before this field existed weighed it 1."""
    recent_fraction: float = 0.8
    """Share of the samples seen so far whose measure values the normalising quantile uses (the
    latest ones, at most ``history``). A shape measure's first values are nearest-neighbour
    distances in a young memory, and the level measure's first z-scores rest on a median and MAD
    of a few samples, so both run high; kept, they lift the reference and blunt the scorer for
    the first ``history`` samples, which is all of a short series. At 0.8 they expire as the
    series grows. The range measure keeps its whole history: its early values are true (a young
    series does set new extremes often), and without them it reports the new extremes of plain
    noise (four times as many reports on Gaussian noise). Configurations saved before this
    field existed used 1."""

    recurring_days: int = 3
    """Days the level measure looks back for the same outlier at the same time of day; a level
    outlier matched there (``recurring_ratio`` of its size or more, within ``recurring_span``
    slots of ``recurring_slot`` seconds either way) counts 0. 0 turns this off, as it was for
    configurations saved before the field existed (2026-12-06: on NAB's dev files it silences the
    daily spikes of two files, docs/anomaly.md)."""
    recurring_slot: float = 600.0
    recurring_span: int = 3
    recurring_ratio: float = 0.5

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> AnomalyConfig:
        """The inverse of ``dataclasses.asdict`` after a JSON round trip (lists back to tuples;
        configurations saved before ``scales`` existed get its default, those saved before
        ``level_weight`` existed weighed the level measure 1, those saved before
        ``recent_fraction`` existed normalised by their whole history, and those saved before
        ``recurring_days`` did not look for recurring level outliers)."""
        fixed = {**raw, "measures": tuple(raw["measures"])}
        fixed.setdefault("level_weight", 1.0)
        fixed.setdefault("recent_fraction", 1.0)
        fixed.setdefault("recurring_days", 0)
        if "scales" in raw:
            fixed["scales"] = tuple(int(b) for b in raw["scales"])
        return cls(**fixed)


def nearest_earlier(rows: np.ndarray, *, memory: int, skip: int) -> float | None:
    """Distance from the last row of ``rows`` to its nearest neighbour among the ``memory``
    rows before it, leaving out the ``skip`` rows just before it (they overlap the last row and
    would always be near: the matrix profile's exclusion zone). None below 10 candidates.

    ``rows`` are delay embeddings in time order, one per sample, so the candidates are
    ``rows[-1 - memory : -1 - skip]``.
    """
    candidates = rows[max(0, len(rows) - 1 - memory) : max(0, len(rows) - 1 - skip)]
    if len(candidates) < 10:
        return None
    return float(np.sqrt(((candidates - rows[-1]) ** 2).sum(axis=1).min()))


MEASURES = {
    "level": 1.0,
    "shape": 0.01,
    "range": 0.01,
    "slow_level": 1.0,
    "slow_shape": 0.01,
    "multiscale": 0.01,
}
"""Every measure with the floor added to its reference, so a measure that has always been 0 (a
flat line) cannot explode."""
MIN_HISTORY = 50
"""Values a measure needs before its quantile is trusted."""
REFRESH = 20
"""Samples between updates of the normalising quantiles (a quantile every sample costs most of
the time and the reference moves slowly)."""


class AnomalyScorer:
    """Online anomaly score for one series; see the module docstring for the method."""

    def __init__(self, config: AnomalyConfig | None = None) -> None:
        self.config = config or AnomalyConfig()
        c = self.config
        unknown = set(c.measures) - MEASURES.keys()
        if unknown:
            raise ValueError(f"unknown anomaly measures {sorted(unknown)}")
        if "multiscale" in c.measures and (not c.scales or min(c.scales) < 1):
            raise ValueError(f"bad multiscale block sizes {c.scales}")
        if not 0.0 < c.recent_fraction <= 1.0:
            raise ValueError(f"recent_fraction {c.recent_fraction} is not in (0, 1]")
        if c.recurring_days < 0:
            raise ValueError(f"recurring_days {c.recurring_days} is negative (0 turns it off)")
        # the longest block any measure averages (the multi-scale one only when it takes part,
        # so the other configurations keep their state size)
        longest = max([c.block, *(c.scales if "multiscale" in c.measures else ())])
        # every embedding the shape measures search is rebuilt from these values, so the state
        # is the raw history rather than two copies of it embedded
        self._values: deque[float] = deque(
            maxlen=max(c.window + 1, c.memory + c.embed * longest) + longest
        )
        # one history (and normalising reference) per channel: one per measure, except the
        # multi-scale measure, which has one per block size
        self._channels = [
            (name, block)
            for name in c.measures
            for block in (c.scales if name == "multiscale" else (0,))
        ]
        self._measures = [deque[float](maxlen=c.history) for _ in self._channels]
        self._recurrence = (
            DailyRecurrence(days=c.recurring_days, slot=c.recurring_slot, span=c.recurring_span,
                            ratio=c.recurring_ratio)
            if c.recurring_days > 0 and "level" in c.measures else None)
        # where the level measure's value sits among the channels' (asked every sample)
        self._level_channel = self._channels.index(("level", 0)) if "level" in c.measures else -1
        self._references: list[float | None] = []
        self._low = math.inf
        self._high = -math.inf
        self._seen = 0
        self._quiet_left = 0
        self._quiet_level = 0.0
        self._last_time = -math.inf

    def update(self, batch: Sequence[Sample]) -> list[AnomalyScore]:
        """Score ``batch`` and return its reports: the samples whose score reaches
        ``report_at`` (as a score, ``report_at / (report_at + 1)``) outside a quiet period."""
        level = self.config.report_at / (self.config.report_at + 1.0)
        return [s for s in self.score(batch) if s.score >= level]

    def score(self, batch: Sequence[Sample]) -> list[AnomalyScore]:
        """Score every new sample of ``batch`` (one result per accepted sample)."""
        out: list[AnomalyScore] = []
        for sample in batch:
            if sample.timestamp <= self._last_time or not math.isfinite(sample.value):
                continue
            self._last_time = sample.timestamp
            score = self._step(sample.value, sample.timestamp)
            out.append(AnomalyScore(timestamp=sample.timestamp, value=sample.value, score=score))
        return out

    def _step(self, x: float, timestamp: float) -> float:
        c = self.config
        self._values.append(x)
        values = np.fromiter(self._values, dtype=np.float64)
        raw = 0.0
        if self._seen > 0:
            # the measures learn their own history during the warm-up too, so that the first
            # scored sample is not compared with an empty past
            ratios = self._ratios(x, values, timestamp)
            raw = max(ratios) if self._seen >= c.warmup else 0.0
        self._low, self._high = min(self._low, x), max(self._high, x)
        self._seen += 1
        if self._quiet_left > 0:
            self._quiet_left -= 1
            if raw < c.escalate * self._quiet_level:
                return 0.0
        if raw >= c.report_at:
            self._quiet_left, self._quiet_level = c.quiet, raw
        return raw / (raw + 1.0)

    def _ratios(self, x: float, values: np.ndarray, timestamp: float) -> list[float]:
        """Each measure divided by its normalising quantile."""
        c = self.config
        measured = self._measure(x, values)
        routine = False
        if self._recurrence is not None:
            level = measured[self._level_channel]
            if level is not None:
                # asked before the sample joins the memory, so it cannot match itself
                routine = self._recurrence.seen_before(timestamp, level)
                self._recurrence.add(timestamp, level)
        if self._seen % REFRESH == 0 or not self._references:
            # None until a measure has enough history for a meaningful high quantile; then
            # over the values of the latest recent_fraction of the samples seen, except for
            # the range measure, which keeps its whole history (see recent_fraction)
            recent = max(MIN_HISTORY, int(c.recent_fraction * self._seen))
            self._references = [
                _reference(h, None if name == "range" else recent, c.quantile)
                for (name, _), h in zip(self._channels, self._measures, strict=True)
            ]
        ratios = [0.0]
        multiscale: list[float] = []
        for (name, _), value, history, reference in zip(
            self._channels, measured, self._measures, self._references, strict=True
        ):
            if value is None:
                continue
            # 5 decimals is far below the floor added to every reference (0.01), and halves the
            # JSON of a snapshot, which is mostly these histories
            history.append(round(value, 5))
            if reference is not None:
                ratio = value / (reference + MEASURES[name])
                if name == "level":
                    ratio *= 0.0 if routine else c.level_weight
                (multiscale if name == "multiscale" else ratios).append(ratio)
        if multiscale:
            # a block size not yet able to judge (too little history) adds no evidence
            ratios.append(math.sqrt(sum(r * r for r in multiscale) / len(c.scales)))
        return ratios

    def _measure(self, x: float, values: np.ndarray) -> list[float | None]:
        """The value of every channel (one per measure, one per block size of the multi-scale
        measure) for the newest sample ``x``; None where a measure cannot judge yet.
        ``bench/anomaly_replay.py`` records these to replay the rest offline."""
        c = self.config
        spread = self._high - self._low
        floor = 1e-3 * spread + 1e-9  # a flat series must not divide by zero
        median = mad = 0.0
        if "level" in c.measures or "slow_level" in c.measures:
            past = values[-c.window - 1 : -1]
            median = float(np.median(past))
            mad = 1.4826 * float(np.median(np.abs(past - median))) + floor
        recent = float(values[-c.block :].mean())
        scale = math.sqrt(c.embed) * (spread + floor)
        found: dict[str, Callable[[int], float | None]] = {
            "level": lambda _: abs(x - median) / mad,
            "shape": lambda _: _divide(self._shape(values, 1), scale),
            "range": lambda _: max(self._low - x, x - self._high, 0.0) / (spread + floor),
            "slow_level": lambda _: abs(recent - median) / mad,
            "slow_shape": lambda _: _divide(self._shape(values, c.block), scale),
            "multiscale": lambda block: _divide(self._shape(values, block), scale),
        }
        return [found[name](block) for name, block in self._channels]

    def _shape(self, values: np.ndarray, block: int) -> float | None:
        """Nearest-neighbour distance of the embedding of the last ``embed`` means of ``block``
        values (block 1: the values themselves)."""
        e, memory = self.config.embed, self.config.memory
        span = e * block
        if len(values) < span:
            return None
        # only the embeddings that can be candidates: the last memory + 1 of them
        values = values[-(memory + span) :]
        means = sliding_window_view(values, block).mean(axis=1) if block > 1 else values
        rows = sliding_window_view(means, span - block + 1)[:, ::block]
        return nearest_earlier(rows, memory=memory, skip=span)

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": config_dict(self.config),
            "values": _pack(self._values, np.float64),
            "measures": [_pack(h, np.float64) for h in self._measures],
            "references": self._references,
            "low": self._low if math.isfinite(self._low) else None,
            "high": self._high if math.isfinite(self._high) else None,
            "seen": self._seen,
            "quiet_left": self._quiet_left,
            "quiet_level": self._quiet_level,
            "last_time": self._last_time if math.isfinite(self._last_time) else None,
            "recurrence": None if self._recurrence is None else self._recurrence.snapshot(),
        }

    @classmethod
    def restore(cls, snap: dict[str, Any]) -> AnomalyScorer:
        scorer = cls(AnomalyConfig.from_dict(snap["config"]))
        scorer._values.extend(_unpack(snap["values"], np.float64))
        for history, past in zip(scorer._measures, snap["measures"], strict=True):
            history.extend(_unpack(past, np.float64))
        scorer._references = list(snap["references"])
        scorer._low = math.inf if snap["low"] is None else snap["low"]
        scorer._high = -math.inf if snap["high"] is None else snap["high"]
        scorer._seen = snap["seen"]
        scorer._quiet_left = snap["quiet_left"]
        scorer._quiet_level = snap["quiet_level"]
        scorer._last_time = -math.inf if snap["last_time"] is None else snap["last_time"]
        if scorer._recurrence is not None and snap.get("recurrence") is not None:
            scorer._recurrence.restore_from(snap["recurrence"])
        return scorer


def _reference(history: deque[float], recent: int | None, quantile: float) -> float | None:
    """The ``quantile`` of the last ``recent`` values of ``history`` (None: all of them); None
    while the history is too short to trust."""
    if len(history) < MIN_HISTORY:
        return None
    past = np.fromiter(history, dtype=np.float64)
    return float(np.quantile(past if recent is None else past[-recent:], quantile))


def _pack(values: deque[float], dtype: type[np.floating[Any]]) -> str:
    """Numbers as base64 of their little-endian bytes: a snapshot holds thousands of them per
    series, and ingest snapshots every resident's series at once, so building and encoding it
    must not cost a Python object per number. Full float64, so a restored scorer goes on
    exactly as the original would."""
    return base64.b64encode(np.fromiter(values, dtype=np.dtype(dtype).newbyteorder("<"),
                                        count=len(values)).tobytes()).decode("ascii")


def _unpack(packed: str | list[float], dtype: type[np.floating[Any]]) -> list[float]:
    if isinstance(packed, list):  # snapshots written before the packing
        return [float(v) for v in packed]
    raw = np.frombuffer(base64.b64decode(packed), dtype=np.dtype(dtype).newbyteorder("<"))
    return [float(v) for v in raw]


def _divide(value: float | None, scale: float) -> float | None:
    return None if value is None else value / scale
