"""A run whose loss became NaN or infinite: the training loop raises it, the tuners record it.

Kept apart from the loop (loop.py) so that the tuners, which meet it in models
of any kind, need nothing else of the course's training code.
"""

from __future__ import annotations


class DivergedError(RuntimeError):
    """The loss became NaN or infinite: the run stops and no checkpoint is written for that epoch.

    epoch and step count from 1, as printed (step: the mini-batch within the
    epoch; 0 when it is not known, as after a Keras fit's epoch; None when only
    the validation loss was not finite). history holds the
    good epochs. The model's weights are left as the failed epoch made them (NaN,
    likely): restore the last checkpoint, or train again with resume=True and a
    lower learning rate.
    """

    def __init__(self, epoch: int, step: int | None, history: dict[str, list[float]], value: float):
        self.epoch = epoch
        self.step = step
        self.history = history
        self.value = value
        super().__init__(f"training diverged: the loss is {value} at {self.where}")

    @property
    def where(self) -> str:
        """'epoch 3, step 7', 'epoch 3 (training)' or 'epoch 3 (validation)'."""
        if self.step is None:
            return f"epoch {self.epoch} (validation)"
        if self.step == 0:
            return f"epoch {self.epoch} (training)"
        return f"epoch {self.epoch}, step {self.step}"
