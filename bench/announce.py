"""Time to announce an object: how long after an object is first detected the feed hears of it.

    .venv/bin/python bench/announce.py            # prints one JSON line (about 30 s)

Runs the real pipeline (`CameraPipeline` as `vigil analyze` runs it) over the bundled clips
with their example configurations, and for every track compares, in media time from the
object's first detection:

- `appear` (Vigil's method): the event raised when the track is confirmed;
- `object` (the peer, the previous method): the event raised when the track ends, plus, live,
  the tracker's lost timeout (`tracker.lost_timeout`) that must pass before a track ends.

Media time makes the numbers independent of the machine's speed (the pipeline is
deterministic: every run gives the same numbers; there is no spread to report). The live
capture-to-client latency that comes on top is measured by bench/latency.py.
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = {
    "person-room": ("one-by-one-person-detection.mp4", ROOT / "examples" / "demo.yml"),
    "car-park-motion": ("car-detection.mp4", ROOT / "examples" / "car-park.yml"),
}


def delays(video: Path, config_path: Path) -> dict[str, Any]:
    from vigil.config import load_config
    from vigil.domain import EventType
    from vigil.pipeline.analyze import run_analysis
    from vigil.pipeline.camera import CameraPipeline, detector_for_camera
    from vigil.pipeline.sinks import Sink
    from vigil.sources import open_source

    config = load_config(config_path)
    cam = config.cameras[0].model_copy(update={"source": str(video)})
    source = open_source(cam.id, str(video))
    frames = source.frames()
    first = next(frames)
    pipeline = CameraPipeline(
        cam, config, detector_for_camera(config, cam), (first.width, first.height)
    )
    appear: dict[int, float] = {}
    ended: dict[int, tuple[float, float]] = {}  # track id -> (first seen, end)

    class Collect(Sink):
        def on_frame(self, frame: Any, result: Any) -> None:
            for ev in result.events:
                if ev.type == EventType.APPEAR and ev.track_id is not None:
                    appear.setdefault(ev.track_id, ev.time)
                if ev.type == EventType.OBJECT and ev.track_id is not None:
                    ended[ev.track_id] = (ev.start, ev.end)

        def close(self) -> None:
            pass

    run_analysis(itertools.chain([first], frames), pipeline, source.fps, [Collect()])
    source.close()
    lost = config.tracker.lost_timeout
    tracks = sorted(set(appear) & set(ended))
    new = [appear[t] - ended[t][0] for t in tracks]
    old = [ended[t][1] - ended[t][0] + lost for t in tracks]
    return {
        "tracks": len(tracks),
        "tracks_never_confirmed": len(set(ended) - set(appear)),
        "appear_s": summary(new),
        "object_s": summary(old),
        "lost_timeout_s": lost,
        "ratio_median": round(statistics.median(new) / statistics.median(old), 3),
    }


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "max": round(max(values), 2),
        "min": round(min(values), 2),
    }


def main() -> None:
    started = time.perf_counter()
    cases = {name: delays(ROOT / "vigil" / "assets" / v, c) for name, (v, c) in CASES.items()}
    print(
        json.dumps(
            {
                "bench": "announce",
                "what": "media seconds from an object's first detection to its event",
                "method": "appear (track confirmed)",
                "peer": "object (track ended) + lost_timeout, the previous method",
                "cases": cases,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
