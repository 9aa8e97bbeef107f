"""Which part this process plays in KerasTuner's distributed mode (no TensorFlow).

KerasTuner reads three environment variables in every process of a search:

    KERASTUNER_TUNER_ID     "chief" for the oracle, any other name for a worker
    KERASTUNER_ORACLE_IP    where the chief listens (gRPC)
    KERASTUNER_ORACLE_PORT  and on which port

The chief holds the oracle and hands out trials; each worker asks it for a
trial, trains it, reports every epoch and asks again, until the budget is spent.
"""

from __future__ import annotations

import os


def distributed_role() -> str:
    """"chief", "worker" or "single" (no distributed variables set)."""
    tuner_id = os.environ.get("KERASTUNER_TUNER_ID")
    if "KERASTUNER_ORACLE_IP" not in os.environ or not tuner_id:
        return "single"
    return "chief" if "chief" in tuner_id else "worker"
