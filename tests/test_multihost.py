"""Several hosts, for real: the chief and two workers each in a network namespace of its own
(`ip netns`), each worker joined to the chief by a veth pair with addresses of its own, as separate
hosts on a network would be; the search folder is shared (one filesystem, as NFS would share it).
A pbt search and a random search run across them to the end, with the by-hand recipe of
docs/search.md.

Creating namespaces needs root and iproute2; without them the tests skip, saying why. To run
them: `sudo env PYTHONPATH=$PWD python -m pytest tests/test_multihost.py -v` (docs/search.md,
"On several hosts").
"""

import csv
import os
import shutil
import subprocess
import sys

import pytest
from helpers_processes import ENV
from helpers_search import read_json

from tfweek3.search.config import SearchConfig
from tfweek3.search.schedule import winner_checkpoint

WORKERS = ("worker1", "worker2")


def ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def hosts():
    """Three namespaces: the chief at 10.213.N.1 on link N, worker N at 10.213.N.2 (N = 1, 2).

    Yields {name: (namespace, the chief's address as that host sees it)}.
    """
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces (ip netns) needs root")
    if shutil.which("ip") is None:
        pytest.skip("the ip command (iproute2) is not installed")
    tag = f"tfw{os.getpid() % 100000}"
    names = {"chief": f"{tag}c", "worker1": f"{tag}w1", "worker2": f"{tag}w2"}
    made = []
    try:
        for namespace in names.values():
            added = ip("netns", "add", namespace)
            if added.returncode != 0:
                pytest.skip(f"ip netns add failed here: {added.stderr.strip()}")
            made.append(namespace)
            ip("-n", namespace, "link", "set", "lo", "up")
        for n, worker in enumerate(WORKERS, start=1):
            chief_end, worker_end = f"{tag}c{n}", f"{tag}v{n}"
            steps = [("link", "add", chief_end, "type", "veth", "peer", "name", worker_end),
                     ("link", "set", chief_end, "netns", names["chief"]),
                     ("link", "set", worker_end, "netns", names[worker]),
                     ("-n", names["chief"], "addr", "add", f"10.213.{n}.1/24", "dev", chief_end),
                     ("-n", names[worker], "addr", "add", f"10.213.{n}.2/24", "dev", worker_end),
                     ("-n", names["chief"], "link", "set", chief_end, "up"),
                     ("-n", names[worker], "link", "set", worker_end, "up")]
            for step in steps:
                done = ip(*step)
                assert done.returncode == 0, f"ip {' '.join(step)}: {done.stderr}"
        yield {"chief": (names["chief"], "0.0.0.0"),
               **{w: (names[w], f"10.213.{n}.1") for n, w in enumerate(WORKERS, start=1)}}
    finally:
        for namespace in made:  # deleting a namespace deletes the veth ends inside it
            ip("netns", "del", namespace)


def run_across(hosts, args, port: int, timeout: float = 400):
    """The same `tfweek3 tune ARGS` on the three hosts; each one's (exit status, stdout, stderr)."""
    processes = {}
    for name, (namespace, chief_address) in hosts.items():
        env = dict(ENV, KERASTUNER_TUNER_ID=name, KERASTUNER_ORACLE_IP=chief_address,
                   KERASTUNER_ORACLE_PORT=str(port))
        extra = () if name == "chief" else ("--threads", "1")
        processes[name] = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "tfweek3", "tune", *args,
             *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        outputs = {name: p.communicate(timeout=timeout) for name, p in processes.items()}
        return {name: (processes[name].returncode, *outputs[name]) for name in processes}
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait()


def trained_by(outputs):
    """Which host trained each trial number, from the hosts' progress lines."""
    return {int(line.split()[1].split("/")[0]): name
            for name in WORKERS for line in outputs[name][1].splitlines()
            if line.startswith("trial ")}


def test_the_hosts_are_apart(hosts):
    """A worker reaches the chief on its own link, and nothing else: not the other worker."""
    namespace, _ = hosts["worker1"]
    routes = subprocess.run(["ip", "netns", "exec", namespace, "ip", "-4", "route"],
                            capture_output=True, text=True, check=True).stdout
    assert routes.split() == ["10.213.1.0/24", "dev", routes.split()[2], "proto", "kernel",
                              "scope", "link", "src", "10.213.1.2"]


def test_pbt_across_three_hosts_shares_checkpoints_through_the_folder(hosts, tmp_path):
    folder = tmp_path / "pbt"
    args = ("--strategy", "pbt", "--population", "6", "--epochs", "6", "--ready-epochs", "2",
            "--dir", str(folder), "--seed", "2", "--units", "16:32", "--layers", "1:2",
            "--batch-sizes", "32,64", "--no-tensorboard")
    outputs = run_across(hosts, args, port=8471)
    for name, (status, _, err) in outputs.items():
        assert status == 0, f"{name}: {err}"
    with open(folder / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted((int(r["member"]), int(r["generation"])) for r in rows) == [
        (m, g) for m in range(1, 7) for g in range(1, 4)]
    host = trained_by(outputs)
    assert sorted(host) == list(range(1, 19)) and set(host.values()) == set(WORKERS)
    # Generations that started from weights another host wrote: found through the shared folder.
    across = [r for r in rows if r["parent"] and host[int(r["parent"])] != host[int(r["trial"])]]
    assert across
    # Each started from the file its parent's host left in the folder: weights and optimizer state.
    by_trial = {r["trial"]: r for r in rows}
    config = SearchConfig(strategy="pbt", directory=str(folder))
    for r in across:
        assert os.path.exists(winner_checkpoint(config, by_trial[r["parent"]]))
    assert (folder / "best_schedule.json").exists()
    assert "best: alpha=" in outputs["chief"][1]


@pytest.mark.slow  # the same recipe as test_distributed's by-hand search, on separate hosts
def test_random_search_across_three_hosts(hosts, tmp_path):
    folder = tmp_path / "random"
    args = ("--trials", "4", "--epochs", "1", "--dir", str(folder), "--units", "8",
            "--layers", "1", "--no-tensorboard")
    outputs = run_across(hosts, args, port=8472)
    for name, (status, _, err) in outputs.items():
        assert status == 0, f"{name}: {err}"
    # Every trial trained on a worker host (which ones: whichever asked first).
    assert sorted(trained_by(outputs)) == [1, 2, 3, 4]
    assert len(read_json(folder / "trials.json")["trials"]) == 4
