"""A model saved to .keras by tfweek3 0.1.0 (the flat layout) loads after the move to subpackages.

tests/data/model_0.1.0.keras was saved by tfweek3 0.1.0 with Keras 3.15: the course
network (ManualBatchNorm and SoftmaxClassifier) after three training steps;
model_0.1.0_io.npz holds an input and what that model returned for it.
The layers are registered under the same Keras names ("tfweek3>ManualBatchNorm",
"tfweek3>SoftmaxClassifier"), so the file loads and computes the same outputs, to
float32 rounding: another CPU's kernels round otherwise (helpers_numerics.py).
"""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers_network import numpy_forward
from helpers_numerics import float32_tolerance

from tfweek3 import ManualBatchNorm, SoftmaxClassifier, build_network

DATA = Path(__file__).resolve().parent / "data"
# The network's widest sum: 6 inputs into a unit (batch norm's: the 8 examples of the batch).
TOLERANCE = float32_tolerance(terms=8, total=1.0, layers=3)

pytestmark = pytest.mark.numerics


def test_a_model_saved_by_0_1_0_loads_and_computes_the_outputs_it_stored():
    model = keras.saving.load_model(DATA / "model_0.1.0.keras")
    saved = np.load(DATA / "model_0.1.0_io.npz")
    assert sum(isinstance(layer, ManualBatchNorm) for layer in model.layers) == 2
    assert isinstance(model.layers[-1], SoftmaxClassifier)
    # The stored outputs came from another CPU's kernels: both they and today's are within
    # float32 rounding of a float64 run of the loaded weights. Inference first: a training
    # call moves the moving statistics.
    for training, stored in ((False, saved["y"]), (True, saved["y_train"])):
        exact = numpy_forward(model, saved["x"], training=training)
        np.testing.assert_allclose(stored, exact, rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(model(saved["x"], training=training).numpy(), exact,
                                   rtol=0, atol=TOLERANCE)


def test_the_loaded_model_computes_what_the_same_network_built_now_computes():
    """On one machine in one run, bit for bit: the file brings back the network and weights."""
    model = keras.saving.load_model(DATA / "model_0.1.0.keras")
    x = np.load(DATA / "model_0.1.0_io.npz")["x"]
    rebuilt = build_network(6, 3, hidden_units=(5, 4), batch_norm="manual")
    rebuilt.set_weights(model.get_weights())
    for training in (False, True):
        np.testing.assert_array_equal(model(x, training=training).numpy(),
                                      rebuilt(x, training=training).numpy())


def test_it_loads_in_a_fresh_process_that_imports_the_layers_from_tfweek3():
    code = ("import keras, numpy as np\n"
            "from tfweek3 import ManualBatchNorm  # registers the layers with Keras\n"
            f"m = keras.saving.load_model({str(DATA / 'model_0.1.0.keras')!r})\n"
            f"io = np.load({str(DATA / 'model_0.1.0_io.npz')!r})\n"
            "print(float(np.abs(m(io['x'], training=False).numpy() - io['y']).max()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert float(out.split()[-1]) <= 2 * TOLERANCE  # each within TOLERANCE of float64
