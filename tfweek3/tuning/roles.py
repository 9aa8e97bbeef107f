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


def lost_chief(error: BaseException) -> str | None:
    """In a worker, the gRPC status of a call to the chief that failed because the chief is
    gone ("UNAVAILABLE": its process ended, or reset the connection mid-call); None for any
    other error, or in another role. (A worker that finds no chief at its start waits for one.)"""
    if distributed_role() != "worker" or not type(error).__module__.startswith("grpc"):
        return None  # (grpc's errors are told by their module: grpc is not imported here)
    name = getattr(error.code(), "name", None)
    return name if name == "UNAVAILABLE" else None
