"""A hyperparameter schedule: alpha and beta that change at given epochs, and one model trained on it.

Population-based training (tfweek3.tuning.pbt) does not find one alpha: each
member's alpha and beta change every few epochs, when it copies a better member
and perturbs what it copied. The winner's lineage is therefore a *schedule*,

    epochs 1-2: alpha = 0.01,  beta = 0.9
    epochs 3-4: alpha = 0.0125, beta = 0.92
    ...

saved as best_schedule.json. `train_on_schedule` replays one on a new model
from scratch (PBT's "replay"): `train` runs each segment, from the checkpoint
the previous one left, so the weights, the optimizer's moments and the data
order carry on across segments exactly as in one uninterrupted run; only alpha
and beta change. `tfweek3 train --schedule best_schedule.json` does this.

Reading and writing the file needs no TensorFlow.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from tfweek3.training.names import BATCH_NORMS, OPTIMIZERS


class ScheduleError(ValueError):
    """A schedule file that cannot be replayed; the message names the file and the field."""


@dataclass(frozen=True)
class Segment:
    """Epochs first_epoch..last_epoch (from 1, both included) train with alpha and beta."""

    first_epoch: int
    last_epoch: int
    learning_rate: float
    beta: float


@dataclass(frozen=True)
class Schedule:
    """The network, its optimizer and mini-batch size, and alpha and beta epoch by epoch.

    `found_by` says where the schedule comes from (the search's score, trial,
    member, data set and seed); it is kept for the reader, not used to train.
    """

    segments: tuple[Segment, ...]
    hidden_units: tuple[int, ...]
    batch_norm: str
    optimizer: str
    batch_size: int
    found_by: dict[str, Any] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        return self.segments[-1].last_epoch

    def at(self, epoch: int) -> Segment:
        """The segment that epoch `epoch` (from 1) trains in."""
        for segment in self.segments:
            if segment.first_epoch <= epoch <= segment.last_epoch:
                return segment
        raise ValueError(f"epoch {epoch} is outside the schedule (epochs 1 to {self.epochs})")

    def to_dict(self) -> dict[str, Any]:
        return {"network": {"hidden_units": list(self.hidden_units), "batch_norm": self.batch_norm,
                            "optimizer": self.optimizer, "batch_size": self.batch_size},
                "segments": [asdict(segment) for segment in self.segments],
                "found_by": dict(self.found_by)}

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "schedule") -> Schedule:
        """The schedule in `values`; ScheduleError names the first field that is wrong."""
        def fail(where: str, what: str):
            raise ScheduleError(f"{source}: {where}: {what}")

        if not isinstance(values, dict):
            fail("the file", "expected a JSON object with 'network' and 'segments'")
        network = values.get("network")
        if not isinstance(network, dict):
            fail("network", "missing (hidden_units, batch_norm, optimizer, batch_size)")
        units = network.get("hidden_units")
        if not isinstance(units, list) or not all(_whole(u) and u >= 1 for u in units):
            fail("network.hidden_units", f"expected a list of positive integers, got {units!r}")
        if network.get("batch_norm") not in BATCH_NORMS:
            fail("network.batch_norm", f"expected one of {', '.join(BATCH_NORMS)}")
        if network.get("optimizer") not in OPTIMIZERS:
            fail("network.optimizer", f"expected one of {', '.join(OPTIMIZERS)}")
        if not _whole(network.get("batch_size")) or network["batch_size"] < 1:
            fail("network.batch_size", "expected a positive integer")
        rows = values.get("segments")
        if not isinstance(rows, list) or not rows:
            fail("segments", "expected a non-empty list")
        segments = []
        for i, row in enumerate(rows, start=1):
            where = f"segments[{i}]"
            try:
                segment = Segment(int(row["first_epoch"]), int(row["last_epoch"]),
                                  float(row["learning_rate"]), float(row["beta"]))
            except (KeyError, TypeError, ValueError):
                fail(where, "expected first_epoch, last_epoch, learning_rate and beta")
            expected_first = segments[-1].last_epoch + 1 if segments else 1
            if segment.first_epoch != expected_first or segment.last_epoch < segment.first_epoch:
                fail(where, f"epochs {segment.first_epoch}-{segment.last_epoch} do not follow on "
                     f"(the segment should start at epoch {expected_first})")
            if not (segment.learning_rate > 0 and math.isfinite(segment.learning_rate)):
                fail(where, f"learning_rate must be a positive number, got {segment.learning_rate}")
            if not 0 <= segment.beta < 1:
                fail(where, f"beta must be in [0, 1), got {segment.beta}")
            segments.append(segment)
        return cls(segments=tuple(segments), hidden_units=tuple(units),
                   batch_norm=network["batch_norm"], optimizer=network["optimizer"],
                   batch_size=int(network["batch_size"]),
                   found_by=dict(values.get("found_by") or {}))


def load_schedule(path: str) -> Schedule:
    """Read a schedule file (best_schedule.json); ScheduleError names what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as f:
            values = json.load(f)
    except OSError as error:
        raise ScheduleError(f"{path}: {error.strerror or error}") from error
    except ValueError as error:
        raise ScheduleError(f"{path}: not JSON ({error})") from error
    return Schedule.from_dict(values, source=path)


def train_on_schedule(model, data, schedule: Schedule, *, checkpoint_dir: str,
                      resume: bool = False, seed: int = 0,
                      on_segment=None, **train_kwargs):
    """Train `model` on `data` for schedule.epochs epochs, alpha and beta as the schedule says.

    Each segment is one call of `tfweek3.train`, which goes on from the
    checkpoint the previous segment wrote in `checkpoint_dir` (weights,
    optimizer moments, epoch count and data order): the same run as one call
    with a learning rate that changes. With resume=True a run cut off in any
    segment goes on from its last checkpoint. `on_segment(segment)` is called
    before each segment that trains. Other keyword arguments go to `train`.
    Returns the last segment's TrainResult, whose history covers every epoch.
    """
    from tfweek3.training.checkpoints import epochs_done
    from tfweek3.training.loop import train

    done = epochs_done(checkpoint_dir) if resume else 0
    result = None
    for segment in schedule.segments:
        if segment.last_epoch <= done:
            continue  # trained by an earlier run
        if on_segment is not None:
            on_segment(segment)
        result = train(model, data, epochs=segment.last_epoch, batch_size=schedule.batch_size,
                       optimizer=schedule.optimizer, learning_rate=segment.learning_rate,
                       beta=segment.beta, seed=seed, checkpoint_dir=checkpoint_dir,
                       resume=resume or result is not None, **train_kwargs)
        if result.stopped_early:
            break
    if result is None:  # every segment was trained by an earlier run: restore the last checkpoint
        last = schedule.segments[-1]
        result = train(model, data, epochs=last.last_epoch, batch_size=schedule.batch_size,
                       optimizer=schedule.optimizer, learning_rate=last.learning_rate,
                       beta=last.beta, seed=seed, checkpoint_dir=checkpoint_dir, resume=True,
                       **train_kwargs)
    return result


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
