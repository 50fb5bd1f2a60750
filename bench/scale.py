"""Scale benchmark (issue "A city, not a laptop"): one JSON line with three parts.

    .venv/bin/python bench/scale.py                      # (a), (b) and (c)
    .venv/bin/python bench/scale.py --parts b -- --rates 1000 5000 --rounds 3
    .venv/bin/python bench/scale.py --parts costs        # per-camera costs as well / alone

- (a) cameras per node: how many demo cameras one 2-core node keeps at real time with the
  in-process runner vs the Ray runner (same run): `cameras_per_node()` of bench/scale_ray.py.
- (b) the event path at load: bench/scale_events.py (its arguments after `--`).
- (c) failover on a two-node Ray cluster on one machine: `failover()` of bench/scale_ray.py.
- `costs` (not part of the default): bench/scale_costs.py, per-camera costs by stage.

bench/scale_ray.py (the cluster runner's side) provides `cameras_per_node() -> dict` and
`failover() -> dict`. A part that cannot run says so as {"not_run": "<why>"}; one that
fails, as {"failed": "<what it said>"}: no number is made up for it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]

from probes import load_average  # noqa: E402

PARTS = ("a", "b", "c", "costs")
RAY_FUNCTIONS = {"a": "cameras_per_node", "c": "failover"}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ray_part(part: str) -> Callable[[], dict[str, Any]] | dict[str, Any]:
    """bench/scale_ray.py's function for (a) or (c), or why there is none."""
    name = RAY_FUNCTIONS[part]
    if not (BENCH / "scale_ray.py").exists():
        return {"not_run": "bench/scale_ray.py (the Ray runner's bench functions) is not here"}
    try:
        module = importlib.import_module("scale_ray")
    except Exception as exc:  # noqa: BLE001 - a module that cannot load is reported, not fatal
        return {"not_run": f"bench/scale_ray.py cannot be imported ({type(exc).__name__}: {exc})"}
    fn = getattr(module, name, None)
    if not callable(fn):
        return {"not_run": f"bench/scale_ray.py has no function {name}()"}
    return fn


def run_part(part: str, events_args: list[str], costs_runs: int) -> dict[str, Any]:
    started = time.monotonic()
    load = load_average()
    try:
        if part == "b":
            from scale_events import parser, run

            result = run(parser().parse_args(events_args))
        elif part == "costs":
            from scale_costs import per_camera

            result = {c: per_camera(c, costs_runs) for c in ("lobby", "car-park")}
        else:
            fn = ray_part(part)
            if isinstance(fn, dict):
                return fn
            result = fn()
    except Exception as exc:  # noqa: BLE001 - one part failing does not hide the others
        say(traceback.format_exc())
        return {"failed": f"{type(exc).__name__}: {exc}"}
    except SystemExit as exc:  # a part's own "cannot go on" message
        return {"failed": str(exc)}
    return {**result, "part_seconds": round(time.monotonic() - started, 1), "load_start": load}


def main() -> None:
    argv = sys.argv[1:]
    events_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=["a", "b", "c"])
    parser.add_argument("--costs-runs", type=int, default=3)
    args = parser.parse_args(own)
    names = {
        "a": "a_cameras_per_node",
        "b": "b_event_path",
        "c": "c_failover",
        "costs": "per_camera_costs",
    }
    t0, load0 = time.monotonic(), load_average()
    result: dict[str, Any] = {"bench": "scale", "cpu_count": os.cpu_count(), "parts": {}}
    for part in args.parts:
        say(f"part {part}")
        result["parts"][names[part]] = run_part(part, events_args, args.costs_runs)
    result["load_average"] = {"start": load0, "end": load_average()}
    result["seconds"] = round(time.monotonic() - t0, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
