"""A model saved to .keras by tfweek3 0.1.0 (the flat layout) loads after the move to subpackages.

tests/data/model_0.1.0.keras was saved by tfweek3 0.1.0 with Keras 3.15: the course
network (ManualBatchNorm and SoftmaxClassifier) after three training steps;
model_0.1.0_io.npz holds an input and what that model returned for it.
The layers are registered under the same Keras names ("tfweek3>ManualBatchNorm",
"tfweek3>SoftmaxClassifier"), so the file loads and computes the same outputs.
"""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

from tfweek3 import ManualBatchNorm, SoftmaxClassifier

DATA = Path(__file__).resolve().parent / "data"


def test_a_model_saved_by_0_1_0_loads_with_identical_outputs():
    model = keras.saving.load_model(DATA / "model_0.1.0.keras")
    saved = np.load(DATA / "model_0.1.0_io.npz")
    assert sum(isinstance(layer, ManualBatchNorm) for layer in model.layers) == 2
    assert isinstance(model.layers[-1], SoftmaxClassifier)
    np.testing.assert_array_equal(model(saved["x"], training=False).numpy(), saved["y"])
    # Training mode: since issue 10 the batch's sums are accumulated in float64, so the
    # statistics (and hence the outputs) may differ from 0.1.0's in the last float32 bit.
    np.testing.assert_allclose(model(saved["x"], training=True).numpy(), saved["y_train"],
                               rtol=1e-6, atol=1e-7)


def test_it_loads_in_a_fresh_process_that_imports_the_layers_from_tfweek3():
    code = ("import keras, numpy as np\n"
            "from tfweek3 import ManualBatchNorm  # registers the layers with Keras\n"
            f"m = keras.saving.load_model({str(DATA / 'model_0.1.0.keras')!r})\n"
            f"io = np.load({str(DATA / 'model_0.1.0_io.npz')!r})\n"
            "print(float(np.abs(m(io['x'], training=False).numpy() - io['y']).max()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert float(out.split()[-1]) == 0.0
