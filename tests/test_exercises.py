"""`tfweek3 exercise list / start / check`: the package's solutions pass, the starters do not, and a
learner file that breaks (syntax, imports, names, signatures, exceptions, hangs) gives one line.

The hints, each earned by a deliberately wrong solution, are in test_exercises_hints.py.
"""

import ast
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import pytest

from tfweek3.cli import exercise as exercise_cli
from tfweek3.cli.main import main
from tfweek3.practice import grader, registry

ROOT = Path(__file__).resolve().parents[1]
NAMES = [exercise.name for exercise in registry.EXERCISES]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}


def grade(name: str, path, seconds=20.0) -> grader.Report:
    return grader.grade(registry.find(name), str(path), seconds)


def write(tmp_path, text: str, name: str = "sample_alpha.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- list and start --------------------------------------------------------------------------

def test_list_gives_one_line_per_exercise_in_the_course_order(capsys):
    assert main(["exercise", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[:len(NAMES)]]
    assert [row[:2] for row in rows] == [[str(i), name] for i, name in enumerate(NAMES, start=1)]
    sections = [line.split(maxsplit=2)[2] for line in lines[:len(NAMES)]]
    # the note's sections: exercise 8 (pruning, notebook 5) belongs to section 3, caviar
    assert [s[0] for s in sections] == ["2", "2", "4", "4", "4", "5", "6", "3"]
    assert len(NAMES) >= 8


def test_list_start_and_help_do_not_import_tensorflow(tmp_path):
    code = ("import sys\nfrom tfweek3.cli.main import main\n"
            f"assert main(['exercise', 'list']) == 0\n"
            f"assert main(['exercise', 'start', 'train_step', '--dir', {str(tmp_path)!r}]) == 0\n"
            "try:\n    main(['exercise', 'check', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV,
                          check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", NAMES)
def test_start_writes_the_starter_and_never_overwrites(name, tmp_path, capsys):
    folder = tmp_path / "new" / "folder"
    assert main(["exercise", "start", name, "--dir", str(folder)]) == 0
    path = folder / f"{name}.py"
    text = path.read_text()
    assert "TODO" in text and f"tfweek3 exercise check {name}" in text
    for signature in registry.find(name).writes:
        assert f" {signature.name}(" in text
    path.write_text(text + "\n# my work\n")
    capsys.readouterr()
    assert main(["exercise", "start", name, "--dir", str(folder)]) == 1
    assert path.read_text().endswith("# my work\n")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err


def test_start_by_number_in_the_current_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["exercise", "start", "3"]) == 0
    assert (tmp_path / "batch_norm_forward.py").read_text() == \
        registry.find("batch_norm_forward").starter_text()
    assert "run `tfweek3 exercise check batch_norm_forward`" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["start", "batchnorm"], ["check", "9"], ["check", "0"],
                                  ["start"], ["check", "1", "--time-limit", "0"]])
def test_bad_arguments_are_one_line_and_status_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["exercise", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"tfweek3 exercise {argv[0]}: error:")


def test_check_of_a_missing_file_is_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["exercise", "check", "softmax_cost"]) == 2
    err = capsys.readouterr().err
    assert err == ("tfweek3 exercise check: error: no file softmax_cost.py; write it with "
                   "`tfweek3 exercise start softmax_cost`, or give --file PATH\n")
    assert main(["exercise", "check", "1", "--file", str(tmp_path)]) == 2  # a folder


# --- the package's solutions and the starters --------------------------------------------------

def signatures(path: str) -> dict[str, list[str]]:
    """name -> argument names of each top-level function and of each class's methods."""
    found = {}
    for node in ast.parse(Path(path).read_text()).body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = [a.arg for a in node.args.args]
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = [a.arg for a in item.args.args]
    return found


@pytest.mark.parametrize("name", NAMES)
def test_starter_and_solution_have_the_same_signatures(name, tmp_path):
    exercise = registry.find(name)
    starter = write(tmp_path, exercise.starter_text(), exercise.file_name)
    assert signatures(str(starter)) == signatures(exercise.solution_path())


@pytest.mark.parametrize("name", NAMES)
def test_the_package_solution_passes_every_check(name):
    report = grade(name, registry.find(name).solution_path())
    assert report.load_error is None
    assert [o.why for o in report.outcomes if not o.passed] == []
    assert len(report.outcomes) >= 4
    assert report.verdict().startswith(f"{name}: all {len(report.outcomes)} checks pass")


@pytest.mark.parametrize("name", NAMES)
def test_an_untouched_starter_fails_saying_it_is_not_written(name, tmp_path):
    exercise = registry.find(name)
    report = grade(name, write(tmp_path, exercise.starter_text(), exercise.file_name))
    assert not report.passed and report.load_error is None
    first = report.outcomes[0]
    assert not first.passed and "not written yet" in first.why, first.why
    assert report.mistakes == []


def test_the_solutions_pass_through_the_command_line(capsys):
    path = registry.find("softmax_cost").solution_path()
    assert main(["exercise", "check", "softmax_cost", "--file", path]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 9 and all(line.startswith("  pass  ") for line in out[:8])
    assert out[-1].startswith("softmax_cost: all 8 checks pass")


def test_a_failing_check_says_why_under_it_and_exits_1(tmp_path, capsys):
    path = write(tmp_path, "import numpy as np\n\n\ndef sample_alpha(low, high, size, rng):\n"
                           "    return rng.uniform(low, high, size)\n")
    assert main(["exercise", "check", "sample_alpha", "--file", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("  FAIL  alpha on [1e-4, 1]")
    assert out[1] == ("        hint: alpha sampled uniformly, not on a log scale (most draws fall "
                      "in the top decade): draw r uniformly between log10(low) and log10(high), "
                      "then alpha = 10**r")
    assert out[-1].startswith("sample_alpha: 2 of 4 checks fail")


def test_each_pruning_slip_changes_the_answers_of_a_check_and_is_told_apart_there():
    # median_prune's checks are True/False answers: a slip is named only where its answers to a
    # check's scenarios differ from median_stop's and from those of every other mistake's slips.
    from tfweek3.practice import checks_pruning as cp

    for what, scenarios in cp.GROUPS:  # `answer` without a slip is median_stop's answer
        assert [cp.answer(s) for s in scenarios] == [cp.reference(s) for s in scenarios], what
    for mistake, slip in cp.VARIANTS:
        told = []
        for what, scenarios in cp.GROUPS:
            answers = [cp.answer(s, slip) for s in scenarios]
            others = [[cp.answer(s, other) for s in scenarios]
                      for m, other in cp.VARIANTS if m != mistake]
            if answers != [cp.reference(s) for s in scenarios] and answers not in others:
                told.append(what)
        assert told, f"{slip}: no check tells {mistake.key} apart"


# --- learner files that break: one line each ----------------------------------------------------

BROKEN = [
    ("import numpy as np\ndef sample_alpha(low, high, size, rng)\n    return 1\n",
     "  FAIL  sample_alpha.py, line 2: SyntaxError: expected ':'"),
    ("import nmupy as np\n",
     ("  FAIL  importing sample_alpha.py failed: ModuleNotFoundError: No module named 'nmupy' "
      "(at line 1 of sample_alpha.py)")),
    ("def sample_alfa(low, high, size, rng):\n    return 1\n",
     ("  FAIL  sample_alpha.py has no sample_alpha (it defines sample_alfa): write "
      "sample_alpha(low, high, size, rng)")),
    ("def sample_alpha(low, high):\n    return 1\n",
     ("  FAIL  sample_alpha(low, high) in sample_alpha.py does not fit: the grader calls "
      "sample_alpha(low, high, size, rng)")),
    ("sample_alpha = 0.01\n",
     ("  FAIL  sample_alpha in sample_alpha.py is not a function (it is 0.01): write "
      "sample_alpha(low, high, size, rng)")),
    ("x = 1 / 0\n",
     ("  FAIL  importing sample_alpha.py failed: ZeroDivisionError: division by zero "
      "(at line 1 of sample_alpha.py)")),
    ("name = input()\n",
     ("  FAIL  importing sample_alpha.py failed: EOFError: EOF when reading a line "
      "(at line 1 of sample_alpha.py)")),
    ("import os\nos._exit(3)\n",
     ("  FAIL  the check ended early (exit status 3): the code ended the Python process "
      "(os._exit? a crash?)")),
]


@pytest.mark.parametrize("text, line", BROKEN)
def test_a_file_that_does_not_load_is_one_line_and_status_1(text, line, tmp_path, capsys):
    path = write(tmp_path, text)
    assert main(["exercise", "check", "sample_alpha", "--file", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == line + "\n"
    assert "Traceback" not in captured.err


def test_an_exception_inside_the_function_is_one_line_per_check(tmp_path, capsys):
    path = write(tmp_path, "import numpy as np\n\n\ndef sample_alpha(low, high, size, rng):\n"
                           "    r = rng.uniform(np.log10(low), np.log10(high), size)\n"
                           "    return 10 ** r + undefined\n")
    assert main(["exercise", "check", "sample_alpha", "--file", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == ("        sample_alpha raised NameError: name 'undefined' is not defined "
                      "(at line 6 of sample_alpha.py)")
    assert len(out) == 2 * 4 + 1


def test_code_that_hangs_stops_at_the_time_limit(tmp_path, capsys):
    path = write(tmp_path, "def sample_alpha(low, high, size, rng):\n"
                           "    while True:\n        pass\n")
    assert main(["exercise", "check", "1", "--file", str(path), "--time-limit", "0.5"]) == 1
    out = capsys.readouterr().out.splitlines()
    # Interrupted in the loop: on its `while` line or its `pass` line.
    assert re.fullmatch(r"        did not finish within 0\.5 s at line [23] of sample_alpha\.py "
                        r"\(a loop that never ends\?\); the checks below are not run", out[1])
    assert [line[:6] for line in out[2:5]] == ["  skip"] * 3
    assert out[5].startswith("sample_alpha: 1 of 4 checks fails, 3 not run")


def test_code_the_time_limit_cannot_reach_is_stopped_by_the_parent(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(exercise_cli, "STARTUP_SECONDS", 3.0)
    # The alarm ignored, as code inside TensorFlow or NumPy would not notice it. (Blocking
    # SIGALRM in this thread is not enough: on Python 3.13 the alarm still reached the check,
    # delivered through another of the process's threads.)
    path = write(tmp_path, "import signal\n\n\ndef sample_alpha(low, high, size, rng):\n"
                           "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                           "    while True:\n        pass\n")
    assert main(["exercise", "check", "1", "--file", str(path), "--time-limit", "0.5"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [("  FAIL  no answer for 3.5 s: stopped. The code may be stuck where the time "
                    "limit cannot interrupt it (inside TensorFlow or NumPy)")]


def test_ctrl_c_stops_the_check_and_its_child(tmp_path):
    pid_file = tmp_path / "pid"
    path = write(tmp_path, "import os\n\n\ndef sample_alpha(low, high, size, rng):\n"
                           f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                           "    while True:\n        pass\n")
    parent = subprocess.Popen([sys.executable, "-m", "tfweek3", "exercise", "check", "1",
                               "--file", str(path), "--time-limit", "100"], env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGINT)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode == 130
    assert err == ("tfweek3 exercise: stopped before the verdict; run the same command to check "
                   "again\n")
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the child was stopped too


@pytest.mark.parametrize("body, why", [
    ("return None", "sample_alpha is None: not written yet (fill in its TODO line)"),
    ("return 'alpha'", "sample_alpha is a str, not an array of numbers"),
    ("import sys\n    sys.exit(1)", "sample_alpha called sys.exit(): return a value instead"),
    ("raise NotImplementedError", ("sample_alpha is not written yet: fill in its TODO lines "
                                   "(NotImplementedError at line 3 of sample_alpha.py)")),
])
def test_odd_answers_are_said_plainly(body, why, tmp_path):
    path = write(tmp_path, f"\ndef sample_alpha(low, high, size, rng):\n    {body}\n")
    report = grade("sample_alpha", path)
    assert report.outcomes[0].why == why


@pytest.mark.parametrize("text, line", [
    ("class SimpleBatchNorm:\n    pass\n",
     ("  FAIL  SimpleBatchNorm in batch_norm_layer.py must be a class deriving from "
      "keras.layers.Layer")),
    (("import keras\nclass SimpleBatchNorm(keras.layers.Layer):\n    def call(self, inputs):\n"
      "        return inputs\n"),
     ("  FAIL  SimpleBatchNorm.call(self, inputs) in batch_norm_layer.py does not fit: Keras "
      "calls layer.call(inputs, training=...)")),
    (("import keras\nclass SimpleBatchNorm(keras.layers.Layer):\n    def __init__(self, eps):\n"
      "        super().__init__()\n"),
     ("  FAIL  SimpleBatchNorm(eps) in batch_norm_layer.py does not fit: the grader builds "
      "SimpleBatchNorm(momentum=..., epsilon=...)")),
])
def test_a_layer_of_the_wrong_shape_is_one_line(text, line, tmp_path):
    report = grade("batch_norm_layer", write(tmp_path, text, "batch_norm_layer.py"))
    assert report.load_error == line and report.outcomes == []


@pytest.mark.parametrize("name, old, new", [
    ("batch_norm_forward", "    m = z.shape[0]\n", "    z = z.astype(np.float32)\n    m = z.shape[0]\n"),
    ("batch_norm_backward", "    m = dz_tilde.shape[0]\n",
     "    dz_tilde = dz_tilde.astype(np.float32)\n    m = dz_tilde.shape[0]\n"),
    ("softmax_cost", "    t = np.exp(", "    z = z.astype(np.float32)\n    t = np.exp("),
])
def test_a_right_answer_computed_in_float32_passes(name, old, new, tmp_path):
    exercise = registry.find(name)
    solution = Path(exercise.solution_path()).read_text()
    assert old in solution
    report = grade(name, write(tmp_path, solution.replace(old, new), exercise.file_name))
    assert report.passed, [o.why for o in report.outcomes if not o.passed]


def test_the_learner_cannot_change_the_grader_s_arrays(tmp_path):
    # An in-place edit of z would change the reference's input too, were z not a copy.
    solution = Path(registry.find("batch_norm_forward").solution_path()).read_text()
    text = solution.replace("return z_tilde, cache", "z -= 100.0\n    return z_tilde, cache")
    assert grade("batch_norm_forward", write(tmp_path, text, "batch_norm_forward.py")).passed


# --- where the exercises are announced ----------------------------------------------------------

@pytest.mark.parametrize("notebook", sorted({e.notebook for e in registry.EXERCISES}))
def test_each_notebook_ends_with_try_it_yourself_naming_its_exercises(notebook):
    cells = jupytext.read(ROOT / "notebooks" / f"{notebook}.py").cells
    last = cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Try it yourself")
    assert "tfweek3 exercise start" in last.source and "tfweek3 exercise check" in last.source
    for exercise in registry.for_notebook(notebook):
        assert f"Exercise {exercise.number}, `{exercise.name}`" in last.source


def test_every_notebook_has_exercises():
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    assert sorted({e.notebook for e in registry.EXERCISES}) == names


def test_practice_page_names_every_exercise():
    section = (ROOT / "docs" / "practice.md").read_text().split("\n## The exercises\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    for name in NAMES:
        assert f"`{name}`" in section


def test_the_library_floors_do_not_import_the_practice():
    for floor in ("layers", "training", "tuning"):
        for path in (ROOT / "tfweek3" / floor).glob("*.py"):
            assert "tfweek3.practice" not in path.read_text(), path
