"""`tfweek3 demo` and `python -m tfweek3 demo`: the side-by-side numbers and the exit status."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from tfweek3.cli.main import main
from tfweek3.course import demo
from tfweek3.layers import reference


def test_three_implementations_agree_on_every_quantity():
    results = demo.batch_norm_side_by_side()
    expected = results["numpy reference"]
    np.testing.assert_allclose(expected["mu"], demo.Z.mean(axis=0))
    np.testing.assert_allclose(expected["sigma2"], demo.Z.var(axis=0))
    for name in ("ManualBatchNorm", "keras BatchNormalization"):
        for quantity, value in expected.items():
            np.testing.assert_allclose(results[name][quantity], value, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{name} {quantity}")


def test_demo_command_prints_the_lecture_softmax(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "softmax = [0.842 0.042 0.002 0.114]" in out
    assert "hardmax = [1. 0. 0. 0.]" in out
    gap = float(re.search(r"difference of z_tilde from the NumPy reference: (\S+)", out).group(1))
    assert gap < 1e-5
    mu_line = re.search(r"mu:\n.*\n  ManualBatchNorm\s+\[([^\]]+)\]", out).group(1)
    np.testing.assert_allclose([float(v) for v in mu_line.split()], demo.Z.mean(axis=0), atol=1e-4)


def test_demo_with_other_epsilon_and_momentum(capsys):
    assert main(["demo", "--epsilon", "0.5", "--momentum", "0.5"]) == 0
    out = capsys.readouterr().out
    line = re.search(r"moving_mean:\n  numpy reference\s+\[([^\]]+)\]", out).group(1)
    np.testing.assert_allclose([float(v) for v in line.split()],
                               reference.update_moving(0, demo.Z.mean(axis=0), 0.5), atol=1e-4)


def test_bad_arguments_exit_with_status_2(capsys):
    assert main(["demo", "--epsilon", "-1"]) == 2
    assert "--epsilon" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-m", "tfweek3", "demo"], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "softmax = [0.842 0.042 0.002 0.114]" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "tfweek3", "no-such-command"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "tfweek3"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([str(script), "demo"], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "hardmax = [1. 0. 0. 0.]" in proc.stdout
