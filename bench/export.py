"""Evidence export benchmark: the cost of an export per second of footage, as a ratio to
decoding the same footage with PyAV, in the same run.

    .venv/bin/python bench/export.py                 # one JSON line (about a minute)
    .venv/bin/python bench/export.py --runs 5 --blur-seconds 4

The footage is the bundled lobby clip (768x432, 10 fps, H.264 with B-frames, 139 s), recorded
by vigil.recording.recorder into 10 s segments. Cases, each timed as process CPU seconds (all
threads) per second of footage, interleaved with the peer:

- `unblurred`: `create_export(..., unblurred)` of the whole clip: remux of 14 segments into one
  MP4 with chapters, SHA-256 of every file, the signed manifest, the audit row. The peer is
  decoding every frame of the same clip.
- `blurred`: the same for `--blur-seconds` of it with faces blurred: every frame decoded,
  searched with CenterFace, pixelated and re-encoded (libx264). The peer is decoding those
  frames. `s_per_frame` is what a longer export costs per frame on this machine.

Values are the median with the lowest and highest run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vigil.audit.log import AuditLog  # noqa: E402
from vigil.config.camera import RecordingConfig  # noqa: E402
from vigil.domain import RecordingMode  # noqa: E402
from vigil.recording.export import MANIFEST, ExportRequest, create_export  # noqa: E402
from vigil.recording.index import Recordings  # noqa: E402
from vigil.recording.recorder import Recorder  # noqa: E402
from vigil.store.db import Store  # noqa: E402

CLIP = ROOT / "vigil" / "assets" / "one-by-one-person-detection.mp4"
T0 = 1_800_000_000.0


def cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def decode(start_s: float, end_s: float) -> int:
    """Decode the clip's frames in [start_s, end_s) (seconds from its first frame), every
    one, from the keyframe before start_s (as an export starts there)."""
    n = 0
    with av.open(str(CLIP)) as c:
        stream = c.streams.video[0]
        tb = stream.time_base
        assert tb is not None
        origin = float((stream.start_time or 0) * tb)
        if start_s > 0:
            c.seek(int((origin + start_s) / tb), stream=stream, backward=True)
        for frame in c.decode(stream):
            t = (frame.time or 0.0) - origin
            if t >= end_s:
                break
            n += 1
    return n


def export_once(
    store: Store, data: Path, start: float, end: float, unblurred: bool
) -> dict[str, object]:
    out = data / f"out-{time.monotonic_ns()}"
    req = ExportRequest(("lobby",), start, end, "benchmark run", "cli:bench", "bench",
                        unblurred, "benchmark" if unblurred else None)  # fmt: skip
    create_export(store, data, req, out, AuditLog(store, data))
    manifest: dict[str, object] = json.loads((out / MANIFEST).read_bytes())
    shutil.rmtree(out)
    return manifest


def summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 4), "low": round(min(values), 4),
            "high": round(max(values), 4)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--blur-seconds", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-export-") as tmp:
        data = Path(tmp)
        store = Store(f"sqlite:///{data / 'vigil.db'}")
        config = RecordingConfig(mode=RecordingMode.CONTINUOUS, segment_s=10)
        Recorder("lobby", str(CLIP), data, Recordings(store), config, clock=lambda: T0).run()
        end = max(s.end or T0 for s in Recordings(store).segments("lobby", T0, T0 + 1e6))
        length = end - T0
        blur_from = 30.0  # a keyframe, people in view
        blur_to = blur_from + args.blur_seconds
        results: dict[str, dict[str, list[float]]] = {"unblurred": {}, "blurred": {}}
        frames = 0
        for _ in range(args.runs):
            r = results["unblurred"]
            r.setdefault("export", []).append(
                cpu(lambda: export_once(store, data, T0, end, True)) / length
            )
            r.setdefault("decode", []).append(cpu(lambda: decode(0, length + 1)) / length)
            m: dict[str, object] = {}

            def blurred(m: dict[str, object] = m) -> None:
                m.update(export_once(store, data, T0 + blur_from, T0 + blur_to, False))

            b = results["blurred"]
            b.setdefault("export", []).append(cpu(blurred) / args.blur_seconds)
            clips = m["clips"]
            assert isinstance(clips, list)
            frames = int(clips[0]["frames"])
            b.setdefault("decode", []).append(
                cpu(lambda: decode(blur_from, blur_to)) / args.blur_seconds
            )
        store.close()
    out: dict[str, object] = {"bench": "export", "clip": CLIP.name, "seconds": round(length, 1),
                              "runs": args.runs}  # fmt: skip
    for case, r in results.items():
        ratios = [e / d for e, d in zip(r["export"], r["decode"], strict=True)]
        out[case] = {"cpu_s_per_video_s": summary(r["export"]),
                     "decode_cpu_s_per_video_s": summary(r["decode"]),
                     "ratio_to_decode": summary(ratios)}  # fmt: skip
    fps = frames / args.blur_seconds
    blur_out = out["blurred"]
    assert isinstance(blur_out, dict)
    blur_out["frames"] = frames
    blur_out["s_per_frame"] = round(statistics.median(results["blurred"]["export"]) / fps, 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
