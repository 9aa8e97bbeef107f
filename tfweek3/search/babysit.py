"""Pandas: babysit one model (course section 3).

With little compute you train one model and watch it: look at its learning
curves every day, nudge the learning rate up or down, change the momentum, and
when a day went badly, go back to yesterday's weights. `babysit` does that epoch
by epoch with the week's training loop (tfweek3.training.train), a checkpoint
after every epoch, and a small control file in the run's folder that it reads
before each epoch:

    # FOLDER/control.txt: one action per line, applied in order, then the file is consumed
    learning_rate 0.003     # (or: lr, alpha) set alpha from the next epoch on
    momentum 0.95           # (or: beta) momentum / RMSprop rho / Adam beta1
    rollback 4              # go back to the weights after epoch 4 (1-based)
    stop                    # stop before the next epoch (run again to continue)

Every action is logged with its epoch in FOLDER/actions.csv, the curves are
redrawn after every epoch in FOLDER/curves.png, and the history is in
FOLDER/history.csv. Running the same command again continues from the last
checkpoint with the last learning rate and momentum.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tfweek3.tuning.storage import StateFileError

CONTROL_FILE = "control.txt"
SETTINGS_FILE = "babysit.json"
ACTION_NAMES = {"learning_rate": "learning_rate", "lr": "learning_rate", "alpha": "learning_rate",
                "momentum": "beta", "beta": "beta", "rollback": "rollback", "stop": "stop"}


@dataclass
class BabysitConfig:
    """The one model being babysat and how it starts."""

    directory: str = "runs/babysit"
    dataset: str = "digits"
    epochs: int = 30
    learning_rate: float = 0.01
    beta: float = 0.9
    optimizer: str = "momentum"
    hidden_units: tuple[int, ...] = (25, 12)
    batch_norm: str | None = "manual"
    batch_size: int = 32
    seed: int = 0


@dataclass
class Action:
    """One line of the control file: name is learning_rate, beta, rollback or stop."""

    name: str
    value: float | None = None


@dataclass
class BabysitResult:
    """history: the epochs trained by this call (with those restored before them by a rollback);
    epochs_done: all the epochs the run's checkpoints hold, earlier calls' included."""

    history: dict[str, list[float]]
    actions: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False
    train_result: Any = None
    epochs_done: int = 0


def parse_control(text: str) -> tuple[list[Action], list[str]]:
    """The actions of a control file, and a message for each line that is not one."""
    actions, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        name = ACTION_NAMES.get(words[0].lower())
        try:
            if name == "stop" and len(words) == 1:
                actions.append(Action("stop"))
                continue
            if name is None or len(words) != 2:
                raise ValueError
            value = float(words[1])
            if name == "rollback" and (value != int(value) or value < 1):
                raise ValueError
            if name == "learning_rate" and not value > 0:
                raise ValueError
            if name == "beta" and not 0 <= value < 1:
                raise ValueError
            actions.append(Action(name, value))
        except ValueError:
            problems.append(f"{CONTROL_FILE} line {number} ignored: {raw.strip()!r} "
                            "(expected learning_rate X, momentum X, rollback K or stop)")
    return actions, problems


def read_control(directory: str | Path) -> tuple[list[Action], list[str]]:
    """Read and consume the control file (renamed control.txt.applied), if there is one.

    Bytes that are not UTF-8 spoil only their line, which is ignored like any other bad line.
    """
    path = Path(directory) / CONTROL_FILE
    if not path.exists():
        return [], []
    text = path.read_bytes().decode("utf-8", errors="replace")
    path.replace(path.with_name(CONTROL_FILE + ".applied"))
    return parse_control(text)


def babysit(config: BabysitConfig, *, overwrite: bool = False,
            log: Callable[[str], None] = print,
            before_epoch: Callable[[int], None] | None = None) -> BabysitResult:
    """Train one model epoch by epoch, obeying the control file before each epoch.

    `before_epoch(epoch)` (1-based epoch about to run) is called before the
    control file is read, for notebooks and tests that write it.
    """
    import keras

    from tfweek3.training.checkpoints import checkpoint_for_epoch, epochs_done
    from tfweek3.training.data import load_dataset
    from tfweek3.training.loop import train
    from tfweek3.training.network import build_network

    folder = Path(config.directory)
    if overwrite and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    checkpoints = folder / "checkpoints"
    settings_path = folder / SETTINGS_FILE
    # The current learning rate and momentum survive a restart of the babysitter.
    settings = {"learning_rate": config.learning_rate, "beta": config.beta}
    if settings_path.exists():
        settings.update(_read_settings(settings_path))

    data = load_dataset(config.dataset, seed=config.seed)
    keras.utils.set_random_seed(config.seed)
    model = build_network(data.input_dim, data.num_classes, hidden_units=config.hidden_units,
                          batch_norm=config.batch_norm, seed=config.seed)
    done = epochs_done(str(checkpoints))
    history: dict[str, list[float]] = {}
    result = BabysitResult(history=history)
    while done < config.epochs:
        if before_epoch is not None:
            before_epoch(done + 1)
        actions, problems = read_control(folder)
        for problem in problems:
            log(problem)
        for action in actions:
            entry = {"epoch": done + 1, "action": action.name, "value": action.value,
                     "previous": settings.get(action.name)}
            if action.name in ("learning_rate", "beta"):
                settings[action.name] = action.value
                log(f"epoch {done + 1}: {action.name} {entry['previous']:g} -> {action.value:g}")
            elif action.name == "rollback":
                k = int(action.value)
                if k > done:
                    log(f"epoch {done + 1}: rollback {k} ignored: only {done} epochs done")
                    continue
                # Training zero epochs from checkpoint k restores it and deletes the
                # later checkpoints: the abandoned epochs are gone for good.
                restored = train(
                    model, data, epochs=k, batch_size=config.batch_size,
                    optimizer=config.optimizer, learning_rate=settings["learning_rate"],
                    beta=settings["beta"], seed=config.seed, checkpoint_dir=str(checkpoints),
                    resume=checkpoint_for_epoch(str(checkpoints), k), verbose=0)
                entry["previous"] = done
                done = k
                history.clear()
                history.update(restored.history)
                log(f"epoch {entry['epoch']}: rolled back to the checkpoint of epoch {k}")
            elif action.name == "stop":
                log(f"epoch {done + 1}: stop")
                result.stopped = True
            _log_action(folder, entry)
            result.actions.append(entry)
        _save_settings(settings_path, config, settings)
        if result.stopped:
            break
        train_result = train(
            model, data, epochs=done + 1, batch_size=config.batch_size,
            optimizer=config.optimizer, learning_rate=settings["learning_rate"],
            beta=settings["beta"], seed=config.seed, checkpoint_dir=str(checkpoints),
            resume=True, verbose=0,
        )
        done = train_result.epochs_run
        history.clear()
        history.update(train_result.history)
        result.train_result = train_result
        log(epoch_line(done, config.epochs, history, settings))
        write_history(folder / "history.csv", history)
        plot_curves(history, folder / "curves.png")
    result.epochs_done = done
    return result


def epoch_line(epoch: int, epochs: int, history: dict[str, list[float]],
               settings: dict[str, float]) -> str:
    h = {key: values[-1] for key, values in history.items()}
    return (f"epoch {epoch}/{epochs} loss {h['loss']:.4f} accuracy {h['accuracy']:.4f} "
            f"val_loss {h['val_loss']:.4f} val_accuracy {h['val_accuracy']:.4f} "
            f"alpha {settings['learning_rate']:g} beta {settings['beta']:g}")


def _read_settings(path: Path) -> dict[str, float]:
    """The learning rate and momentum a previous run left, or StateFileError naming the file."""
    try:
        current = json.loads(path.read_text())["current"]
        return {"learning_rate": float(current["learning_rate"]), "beta": float(current["beta"])}
    except (ValueError, KeyError, TypeError) as error:
        raise StateFileError(path, error) from error


def _log_action(folder: Path, entry: dict[str, Any]) -> None:
    path = folder / "actions.csv"
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=("epoch", "action", "value", "previous"))
        if new:
            writer.writeheader()
        writer.writerow(entry)


def _save_settings(path: Path, config: BabysitConfig, settings: dict[str, float]) -> None:
    path.write_text(json.dumps({"config": asdict(config), "current": settings}, indent=2))


def write_history(path: Path, history: dict[str, list[float]]) -> None:
    keys = list(history)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *keys])
        for i in range(len(history[keys[0]])):
            writer.writerow([i + 1, *(history[key][i] for key in keys)])


def plot_curves(history: dict[str, list[float]], path: Path) -> None:
    """The learning curves so far: cost, accuracy and the learning rate alpha."""
    # A Figure of its own, not pyplot's: no backend is switched and nothing is shown.
    from matplotlib.figure import Figure

    epochs = range(1, len(history["loss"]) + 1)
    fig = Figure(figsize=(12, 3.4))
    axes = fig.subplots(1, 3)
    for ax, (key, label) in zip(axes[:2], (("loss", "cost J"), ("accuracy", "accuracy"))):
        ax.plot(epochs, history[key], marker=".", label="train")
        ax.plot(epochs, history[f"val_{key}"], marker=".", label="validation")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    axes[2].plot(epochs, history["learning_rate"], marker=".", color="gray")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("learning rate alpha")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
