"""How far a float32 result may be from the exact one: the suite's tolerance policy.

Two correct float32 computations differ by rounding, and which rounding depends on
the CPU (oneDNN and Eigen pick other kernels, another order of summation, with
AVX-512, AVX2 or SSE4.1). So a float32 result of TensorFlow's kernels is compared
with a float64 run of the same computation, or with a closed form, never with
another float32 run, and the tolerance comes from float32's epsilon and the size of
the reductions behind the result:

    a sum of n terms in float32 is within n * eps * sum_i |x_i| of the exact sum

(Higham's bound for recursive summation, eps = 2^-23 ~ 1.19e-7; blocked or pairwise
summation does better, so the bound holds whatever order a kernel adds in).
Bit-exact comparisons stay only for a promise made on one machine in one run: a
model reloaded, a run resumed, the same seed twice.
"""

import os
from pathlib import Path

import keras
import numpy as np
import pytest

EPS32 = float(np.finfo(np.float32).eps)


def float32_tolerance(terms: int, total: float = 1.0, layers: int = 1) -> float:
    """terms * eps * total: the bound above for a sum of `terms` values whose magnitudes add
    up to `total` (for a mean, the mean of the magnitudes), once for each of `layers`
    reductions in a row (a network's layers, each adding its own rounding)."""
    return layers * terms * EPS32 * total


def keras_application(constructor, dtype: str, **kwargs):
    """A keras.applications network with weights=None, built in `dtype` (float64 for the
    reference run), its dropout off (random masks would differ between the runs)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        model = constructor(weights=None, classes=10, classifier_activation=None, **kwargs)
    finally:
        keras.config.set_dtype_policy(previous)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    return model


def _isa_capped_below_fp16() -> bool:
    """Whether ONEDNN_MAX_CPU_ISA keeps oneDNN below AVX512-FP16 on a CPU that has it."""
    capped = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper() not in ("ALL", "AVX512_CORE_FP16",
                                                                         "AVX10_1_512")
    cpuinfo = Path("/proc/cpuinfo")
    return capped and cpuinfo.exists() and "avx512_fp16" in cpuinfo.read_text()


# TensorFlow 2.21 hands float16 matmuls to oneDNN when it sees AVX512-FP16 on the CPU; with
# oneDNN capped below that ISA (the suite's second pass emulates an older CPU) there is no
# kernel for them and the process dies in a segmentation fault. A CPU without the
# instructions never takes that path, so these tests run on it; under the cap they are skipped.
skip_half_precision_matmul_when_capped = pytest.mark.skipif(
    _isa_capped_below_fp16(), reason="float16 matmul under ONEDNN_MAX_CPU_ISA below AVX512-FP16 "
    "crashes TensorFlow 2.21 on a CPU that has AVX512-FP16")
