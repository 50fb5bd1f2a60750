"""A failover drill on a running Ray cluster: what the two-node test and bench/scale_ray.py's
(c) run on the head node (its network namespace, vigil.pipeline.cluster.netns).

    python -m vigil.pipeline.cluster.drill vigil.yml DB_URL DATA_DIR

It starts the configuration's cameras with the cluster runner and talks JSON lines:
prints {"ready": {camera: node ip}} once every camera analyses frames; then for each line
`lost <node ip> <UNIX time>` read on stdin (the harness has killed that node) it prints
{"recovered": [...]} once every camera of that node runs again elsewhere (each recovery's
`seconds` counts from the loss being noticed; `since_kill` from the kill), or
{"timeout": ...} when they do not (`within_bound`: by `runner.restart_within_s`);
`report` prints every camera's last report; `stop` stops the cameras and ends it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from vigil.config import load_config
from vigil.pipeline.cluster.runner import ClusterRunner
from vigil.store.db import Store

POLL_S = 0.2
READY_TIMEOUT_S = 180.0
GIVE_UP_FACTOR = 4.0  # a recovery slower than its bound is still measured, up to this many
GIVE_UP_MIN_S = 120.0


def say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def node_ips() -> dict[str, str]:
    import ray

    return {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes()}


def placed(runner: ClusterRunner) -> dict[str, str | None]:
    ips = node_ips()
    return {cid: ips.get(r["node"] or "") for cid, r in runner.reports().items()}


def running(runner: ClusterRunner) -> bool:
    return all(r.get("status", {}).get("frames", 0) > 0 for r in runner.reports().values())


def wait_ready(runner: ClusterRunner) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not running(runner):
        if time.monotonic() > deadline:
            say({"timeout": "the cameras did not start", "reports": runner.reports()})
            raise SystemExit(1)
        time.sleep(POLL_S)


def wait_recovered(runner: ClusterRunner, cameras: list[str], killed_at: float) -> None:
    """Until every camera in `cameras` ran again; told even when past the runner's bound
    (a measurement, with `within_bound`), given up at GIVE_UP_FACTOR times the bound."""
    bound = runner.config.runner.restart_within_s
    deadline = time.monotonic() + max(GIVE_UP_FACTOR * bound, GIVE_UP_MIN_S)
    while time.monotonic() < deadline:
        back = [r for r in runner.recoveries if r.camera_id in cameras and r.lost_at >= killed_at]
        if {r.camera_id for r in back} >= set(cameras):
            out = [{**r.to_json(), "since_kill": round(r.running_at - killed_at, 3)} for r in back]
            within = all(r["since_kill"] <= bound for r in out)
            say(
                {
                    "recovered": out,
                    "placed": placed(runner),
                    "bound_s": bound,
                    "within_bound": within,
                }
            )
            return
        time.sleep(POLL_S)
    say({"timeout": "not every camera ran again", "reports": runner.reports()})


def main(argv: list[str]) -> int:
    config_path, db_url, data_dir = argv
    config = load_config(config_path)
    store = Store(db_url)
    runner = ClusterRunner(config, store, db_url, Path(data_dir))
    try:
        runner.start()
        wait_ready(runner)
        where = placed(runner)  # before any loss: where each camera ran
        say({"ready": where})
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["lost"]:
                cameras = [cid for cid, node in where.items() if node == words[1]]
                wait_recovered(runner, cameras, float(words[2]))
                where = placed(runner)
            elif words[:1] == ["report"]:
                say({"report": runner.reports(), "at": time.time()})
            elif words[:1] == ["stop"]:
                break
    finally:
        runner.stop()
        store.close()
    say({"stopped": True})
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
