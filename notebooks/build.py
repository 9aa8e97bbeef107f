"""Execute the notebooks from their py:percent sources and write the paired .ipynb files.

    python notebooks/build.py                 # every notebook, full run (what is committed)
    python notebooks/build.py 03_softmax      # one notebook
    python notebooks/build.py --fast          # TFWEEK3_FAST=1: seconds, for a quick look

Each notebooks/NAME.py is read with jupytext, run top to bottom in a fresh
"python3" kernel with notebooks/ as the working directory, and written to
notebooks/NAME.ipynb with its outputs (figures included), so a learner sees
them on GitHub without running anything. The .py stays the reviewed source;
tests/test_notebooks.py checks that the two hold the same cells.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def build(name: str, fast: bool = False, timeout: int = 1800) -> float:
    """Run notebooks/NAME.py and write notebooks/NAME.ipynb; return the seconds it took."""
    source = HERE / f"{name}.py"
    notebook = jupytext.read(source)
    env_before = os.environ.get("TFWEEK3_FAST")
    os.environ["TFWEEK3_FAST"] = "1" if fast else "0"
    start = time.monotonic()
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(HERE)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("TFWEEK3_FAST", None)
        else:
            os.environ["TFWEEK3_FAST"] = env_before
    seconds = time.monotonic() - start
    drop_startup_logs(notebook)
    jupytext.write(notebook, HERE / f"{name}.ipynb", fmt="ipynb")
    nbformat.validate(nbformat.read(HERE / f"{name}.ipynb", as_version=4))
    return seconds


# TensorFlow's C++ start-up lines (CUDA not found, oneDNN on, ...), printed to stderr at import
# whatever TF_CPP_MIN_LOG_LEVEL says: noise for a reader, dropped from the saved outputs.
STARTUP_LOG_PREFIXES = ("WARNING: All log messages before absl::InitializeLog()", "I0000 ",
                        "W0000 ", "E0000 ", "To enable the following instructions",
                        "[IPKernelApp] WARNING | Kernel is running over TCP")


def drop_startup_logs(notebook) -> None:
    """Remove TensorFlow's start-up log lines from the stderr outputs (and outputs left empty)."""
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = [line for line in output["text"].splitlines(keepends=True)
                         if not line.startswith(STARTUP_LOG_PREFIXES)]
                output["text"] = "".join(lines)
                if not output["text"].strip():
                    continue
            outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--fast", action="store_true", help="run with TFWEEK3_FAST=1")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.stem for p in HERE.glob("[0-9][0-9]_*.py"))
    for name in names:
        seconds = build(name.removesuffix(".py"), fast=args.fast)
        print(f"{name}: {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
