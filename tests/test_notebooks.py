"""The notebooks: each py:percent source matches its .ipynb, the .ipynb carries a full run, and
every notebook runs without error in fast mode (TFWEEK3_FAST=1). The fast runs' times are printed
(`pytest -s`), not asserted: timings belong to benchmarks, not to tests.

Rebuild the .ipynb files after editing a .py with `python notebooks/build.py` (see notebooks/README.md).
"""

import gzip
import time
from pathlib import Path

import h5py
import jupytext
import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_hyperparameter_search", "02_batch_norm", "03_softmax", "04_tensorflow",
         "05_your_own_model"]


def cell_sources(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_each_notebook_has_a_source_and_a_notebook():
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")) == NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_py_source_and_ipynb_hold_the_same_cells(name):
    source = jupytext.read(NOTEBOOKS / f"{name}.py")
    notebook = jupytext.read(NOTEBOOKS / f"{name}.ipynb")
    assert cell_sources(source) == cell_sources(notebook), (
        f"notebooks/{name}.py and .ipynb differ: run `python notebooks/build.py {name}`")
    assert notebook.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert any("parameters" in cell.metadata.get("tags", []) for cell in source.cells)


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_carries_the_outputs_of_a_full_run(name):
    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "every cell was run"
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2, "figures are saved"
    last = "".join(o.get("text", "") for o in code[-1].outputs)
    assert last.startswith("full run"), "the committed outputs come from a full, not fast, run"
    # "What you should see" and its cell come last, before the closing "Try it yourself" text.
    last_code = max(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
    assert notebook.cells[last_code - 1].source.startswith("## What you should see")


@pytest.fixture
def small_signs_folder(tmp_path):
    """Course-format SIGNS files, small and random: they exercise the notebook's SIGNS branch."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "signs"
    folder.mkdir()
    for split, m in (("train", 48), ("test", 12)):
        with h5py.File(folder / f"{split}_signs.h5", "w") as f:
            f[f"{split}_set_x"] = rng.integers(0, 256, (m, 64, 64, 3), dtype=np.uint8)
            f[f"{split}_set_y"] = np.arange(m) % 6
            f["list_classes"] = np.arange(6)
    return folder


@pytest.fixture
def small_keras_cache(tmp_path):
    """A Keras cache ($KERAS_HOME) holding Fashion-MNIST's four files, small and random: they
    exercise notebook 5's branch for larger data, on 28 x 28 images."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "keras" / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for split, m in (("train", 200), ("t10k", 50)):
        for kind, array in (("images-idx3", rng.integers(0, 256, (m, 28, 28))),
                            ("labels-idx1", np.arange(m) % 10)):
            magic = 2049 if array.ndim == 1 else 2051
            header = b"".join(n.to_bytes(4, "big") for n in (magic, *array.shape))
            with gzip.open(folder / f"{split}-{kind}-ubyte.gz", "wb") as f:
                f.write(header + array.astype(np.uint8).tobytes())
    return tmp_path / "keras"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_in_fast_mode(name, tmp_path, monkeypatch, small_signs_folder,
                                    small_keras_cache):
    monkeypatch.setenv("TFWEEK3_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("TFWEEK3_SIGNS", str(small_signs_folder))
    monkeypatch.setenv("KERAS_HOME", str(small_keras_cache))
    notebook = jupytext.read(NOTEBOOKS / f"{name}.py")
    workdir = tmp_path / "run"
    workdir.mkdir()
    start = time.monotonic()
    # Raises CellExecutionError, with the cell and its traceback, if any cell fails.
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    print(f"{name}: {time.monotonic() - start:.0f} s in fast mode")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    last = "".join(o.get("text", "") for o in code[-1].outputs)
    assert last.startswith("fast mode"), last
    if name == "04_tensorflow":
        assert "SIGNS: train" in last
    if name == "05_your_own_model":
        assert "7. data: keras:fashion_mnist" in last
