"""Recording benchmark: CPU per recorded camera, as a ratio to decoding the same stream.

    .venv/bin/python bench/recording.py             # prints one JSON line (about 4 minutes)
    .venv/bin/python bench/recording.py --runs 5 --seconds 10

The recorder (vigil.recording.recorder) remuxes a camera's packets into indexed fragmented-MP4
segments without decoding; the peer is PyAV decoding the same stream (every frame, the
decoder's default threads, no conversion), in the same run, interleaved. Cost is process CPU
seconds (all threads: time.process_time) per second of video. Cases:

- `lobby-file`, `car-park-file`: the bundled clips read as fast as they go (an import, `vigil
  record FILE`): the whole work per second of video, nothing else in it.
- `lobby-live`: the lobby clip looping at its frame rate for `--seconds` (a demo camera as
  `vigil serve` records it: pacing and waiting included); `core_percent` is the share of one
  core it takes.
- `rtsp-live`: the RTSP test camera (tests/sources/rtsp_server.py, H.264 320x240 at 15 fps;
  needs Debian's GStreamer, skipped with the reason otherwise) for `--seconds`.

Each segment's index rows (SQLite) and SHA-256 are part of the recorder's cost. Reads the
clips from vigil/assets, or VIGIL_DATA/video when VIGIL_DATA is set. Values are the median
with the lowest and highest run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vigil.config.camera import RecordingConfig  # noqa: E402
from vigil.domain import RecordingMode  # noqa: E402
from vigil.recording.index import Recordings  # noqa: E402
from vigil.recording.recorder import Recorder  # noqa: E402
from vigil.store.db import Store  # noqa: E402

ASSETS = ROOT / "vigil" / "assets"
VIDEOS = Path(os.environ["VIGIL_DATA"]) / "video" if "VIGIL_DATA" in os.environ else ASSETS
CLIPS = {"lobby": "one-by-one-person-detection.mp4", "car-park": "car-detection.mp4"}


class Index:
    """One store for the whole benchmark, as a server has (its statements compiled once);
    each run records as a camera of its own."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.store = Store(f"sqlite:///{data / 'vigil.db'}")
        self.runs = 0


INDEX: Index | None = None


def record(
    source: str, *, realtime: bool, loop: bool, seconds: float | None
) -> tuple[float, float]:
    """(process CPU seconds, seconds of video) of recording `source` once."""
    assert INDEX is not None
    INDEX.runs += 1
    config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=10)
    recorder = Recorder(
        f"bench-{INDEX.runs}", source, INDEX.data, Recordings(INDEX.store), config,
        realtime=realtime, loop=loop, for_s=seconds, give_up_after=15,
    )  # fmt: skip
    cpu = time.process_time()
    stats = recorder.run()
    return time.process_time() - cpu, stats.seconds


def decode(
    source: str, *, realtime: bool, loop: bool, seconds: float | None
) -> tuple[float, float]:
    """(process CPU seconds, seconds of video) of decoding the same stream with PyAV."""
    options = {"rtsp_transport": "tcp"} if source.startswith("rtsp") else {}
    cpu = time.process_time()
    started = time.monotonic()
    video = offset = 0.0
    with av.open(source, options=options) as container:
        stream = container.streams.video[0]
        first: float | None = None
        while True:
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                first = t if first is None else first
                video = offset + t - first
                if realtime:
                    time.sleep(max(0.0, started + video - time.monotonic()))
                if seconds is not None and (
                    video >= seconds or time.monotonic() - started >= seconds
                ):
                    return time.process_time() - cpu, video
            if not loop:
                break
            offset, first = video + 1 / float(stream.average_rate or 25), None
            container.seek(0)
    return time.process_time() - cpu, video


def synthetic_camera(path: Path, seconds: float = 10.0) -> str:
    """A 1080p, 25 fps H.264 clip (a keyframe a second) like a real camera's main stream:
    a moving textured gradient, encoded once with libx264 (ultrafast)."""
    import numpy as np

    rng = np.random.default_rng(1)
    h, w, fps = 1080, 1920, 25
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    ramp = np.clip(ramp + rng.normal(0, 6, (h, w)), 0, 255).astype(np.uint8)  # texture
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(fps), "bf": "2", "crf": "26"}
        for i in range(int(seconds * fps)):
            image = np.roll(ramp, i * 8, axis=1)
            frame = av.VideoFrame.from_ndarray(np.dstack([image, image[::-1], image]), "rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return str(path)


def spread(values: list[float], digits: int = 4) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def run_case(
    measure: Callable[[Callable[..., tuple[float, float]]], tuple[float, float]], runs: int
) -> dict[str, object]:
    rec, dec = [], []
    for _ in range(runs):  # interleaved: the machine's load falls on both alike
        cpu, video = measure(record)
        rec.append(cpu / video)
        cpu, video = measure(decode)
        dec.append(cpu / video)
    return {
        "recorder_cpu_s_per_video_s": spread(rec, 5),
        "decode_cpu_s_per_video_s": spread(dec, 5),
        "ratio_vs_decode": spread([r / d for r, d in zip(rec, dec, strict=True)], 3),
        "core_percent": spread([100 * r for r in rec], 2),
        "runs": runs,
    }


def rtsp_case(runs: int, seconds: float) -> dict[str, object]:
    import subprocess

    from tests.sources.conftest import SERVER_SCRIPT, SYSTEM_PYTHON, RtspServer, free_port

    check = subprocess.run([str(SYSTEM_PYTHON), str(SERVER_SCRIPT), "--check"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    if check.returncode != 0:
        return {"skipped": (check.stdout + check.stderr).strip() or "no RTSP test server"}
    server = RtspServer(free_port())
    server.start()
    try:
        return run_case(lambda f: f(server.url, realtime=False, loop=False, seconds=seconds), runs)
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5, help="runs per case (>= 3)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per live run")
    args = parser.parse_args()
    if args.runs < 3:
        parser.error("--runs must be at least 3: one run shows no spread")
    missing = [c for c in CLIPS.values() if not (VIDEOS / c).exists()]
    if missing:
        sys.exit(f"benchmark videos not found under {VIDEOS}: {missing}; set VIGIL_DATA")
    lobby, car = (str(VIDEOS / c) for c in CLIPS.values())
    global INDEX
    tmp = tempfile.TemporaryDirectory()
    INDEX = Index(Path(tmp.name))
    cases: dict[str, object] = {
        "lobby-file": run_case(
            lambda f: f(lobby, realtime=False, loop=False, seconds=None), args.runs
        ),
        "car-park-file": run_case(
            lambda f: f(car, realtime=False, loop=False, seconds=None), args.runs
        ),
        "lobby-live": run_case(
            lambda f: f(lobby, realtime=True, loop=True, seconds=args.seconds), args.runs
        ),
        "rtsp-live": rtsp_case(args.runs, args.seconds),
    }
    with tempfile.TemporaryDirectory() as clips:
        cam = synthetic_camera(Path(clips) / "camera-1080p.mp4")
        cases["camera-1080p-live"] = run_case(
            lambda f: f(cam, realtime=True, loop=True, seconds=args.seconds), args.runs
        )
    INDEX.store.close()
    tmp.cleanup()
    print(json.dumps({
        "bench": "recording",
        "peer": "PyAV decoding the same stream, same run",
        "metric": "process CPU seconds per second of video",
        "target": "about 1 % of a core per camera (core_percent of the live cases)",
        "cases": cases,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
