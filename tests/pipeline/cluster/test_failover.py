"""The Ray runner on a real two-node cluster on this machine (head and worker in network
namespaces joined by a bridge, vigil.pipeline.cluster.netns), against the real PostgreSQL
and NATS (reached through relays on the bridge address): cameras placed one per node, their
health heard over NATS, then the worker node killed and its camera running again on the
head within the bound, nothing stored lost, the recording's gap recorded."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select as sql_select

from tests.conftest import CAR_CLIP, NATS_URL, PERSON_CLIP, need, read_until
from vigil.bus.nats import NatsBus
from vigil.bus.remote import RemoteDirectory
from vigil.config import BusConfig
from vigil.recording.cut import CUT_REASON
from vigil.store.db import Store
from vigil.store.tables import GapRow, SegmentRow

pytestmark = pytest.mark.slow
T = TypeVar("T")
RESTART_WITHIN_S = 60.0  # runner.restart_within_s in the drill's configuration


def wait_for(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    need(os.geteuid() == 0, "two-node Ray tests need root (network namespaces)")
    need(shutil.which("ip") is not None, "the `ip` command (iproute2) is missing")
    try:
        import ray  # noqa: F401
    except ImportError:
        need(False, "Ray is not installed (pip install -e '.[dev]')")
    from vigil.pipeline.cluster.netns import LocalCluster

    with LocalCluster(nodes=2, cpus=2.0) as c:
        yield c


CONFIG = """
bus: {{url: "nats://{host}:4222", prefix: {prefix}}}
runner: {{kind: ray, address: "{head}", camera_cpus: 0.5, restart_within_s: {bound}}}
detector: {{kind: motion}}
objects: {{labels: [motion], min_score: 0.3, min_area: 0.005}}
cameras:
  - id: gate
    source: {car}
    loop: true
    recording: {{mode: continuous, segment_s: 2}}
  - id: hall
    source: {person}
    loop: true
    recording: {{mode: continuous, segment_s: 2}}
"""


class Drill:
    """vigil.pipeline.cluster.drill on the head node, read line by line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def read(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith("{"):
                    message: dict[str, Any] = json.loads(line)
                    return message
                if not line and self.proc.poll() is not None:
                    break
        raise AssertionError(f"the drill said nothing in {timeout:g} s (exit {self.proc.poll()})")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()


POOL_SCRIPT = """
import json, sys, threading
import av, ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
from vigil.pipeline.cluster.pool import DetectorServer, PoolDetector
from vigil.vision.registry import detector_settings, load_detector

ray.init(address=sys.argv[3], logging_level="ERROR")
nodes = [n for n in ray.nodes() if n["Alive"]]
worker = next(n["NodeID"] for n in nodes if n["NodeManagerAddress"] == sys.argv[2])
with av.open(sys.argv[1]) as c:
    frames = [f.to_ndarray(format="bgr24") for _, f in zip(range(101), c.decode(video=0))]
image = frames[-1]
settings = detector_settings()
server = ray.remote(DetectorServer).options(
    num_cpus=0.5, max_concurrency=20,
    scheduling_strategy=NodeAffinitySchedulingStrategy(worker, soft=False),
).remote(settings, 416, 8, 50.0)
labels = ray.get(server.labels.remote())
proxies = [PoolDetector([server], labels, 416, i) for i in range(4)]
pooled = proxies[0].detect(image)
local = load_detector(settings, 416).detect(image)
results = [None] * 4
def ask(i):
    results[i] = [len(proxies[i].detect(f)) for f in frames[-8:]]
threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
as_list = lambda ds: [[d.label, d.score, d.box.x, d.box.y, d.box.w, d.box.h] for d in ds]
print(json.dumps({"pooled": as_list(pooled), "local": as_list(local), "shape": list(image.shape),
                  "sent": proxies[0].sent_bytes, "requests": proxies[0].requests,
                  "pool": ray.get(server.report.remote()), "answers": results}))
"""


def test_the_detector_pool_answers_like_a_local_model_and_batches(cluster: Any) -> None:
    argv = [sys.executable, "-c", POOL_SCRIPT, str(PERSON_CLIP), cluster.ips[1],
            cluster.head_address]  # fmt: skip
    done = cluster.run(0, argv, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    local = [d for d in out["local"] if d[1] >= 0.4]
    pooled = [d for d in out["pooled"] if d[1] >= 0.4]
    assert local and len(pooled) == len(local), (local, pooled)
    for want in local:  # in the full frame's pixels, within a few of the local model's
        assert any(p[0] == want[0] and _near(p[2:], want[2:]) for p in pooled), (want, pooled)
    # Only the picture scaled to the model's size travels: 416 px wide, not the frame.
    height, width, _ = out["shape"]
    per_request = out["sent"] / out["requests"]
    assert per_request == 416 * round(height * 416 / width) * 3 < height * width * 3
    # Four cameras asking at once: the pool took several requests in one batch.
    assert out["pool"]["requests"] == 1 + 4 * 8 and out["pool"]["largest_batch"] >= 2
    assert all(len(a) == 8 for a in out["answers"])


BAD_POOL_SCRIPT = """
import sys
from pathlib import Path
from vigil.config import parse_config
from vigil.errors import VigilError
from vigil.pipeline.cluster.runner import ClusterRunner
from vigil.store.db import Store

config = parse_config(sys.argv[1])
store = Store(f"sqlite:///{sys.argv[2]}/vigil.db")
runner = ClusterRunner(config, store, store.url, Path(sys.argv[2]))
try:
    runner.start()
except VigilError as exc:
    print("error:", exc)
finally:
    runner.stop()
"""


def test_a_pool_of_a_detector_with_a_background_model_is_one_clear_error(
    cluster: Any, tmp_path: Path
) -> None:
    pool = "{size: 1, cpus: 0.25}"
    yml = (f'bus: {{url: "nats://{cluster.host_ip}:4222"}}\n'
           f'runner: {{kind: ray, address: "{cluster.head_address}", pool: {pool}}}\n'
           f"detector: {{kind: motion}}\n"
           f"cameras: [{{id: gate, source: {CAR_CLIP}}}]\n")  # fmt: skip
    done = cluster.run(0, [sys.executable, "-c", BAD_POOL_SCRIPT, yml, str(tmp_path)], timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    said = [ln for ln in done.stdout.splitlines() if ln.startswith("error:")]
    assert len(said) == 1 and "runner.pool: the detector pool did not start" in said[0], said
    assert "background model" in said[0] and "Traceback" not in said[0]


def test_vigil_serve_runs_its_cameras_on_the_cluster(
    cluster: Any, pg_url: str, nats_prefix: str, tmp_path: Path
) -> None:
    """`vigil serve --runner ray --ray-address ...` on the head: its camera runs as an actor,
    heard over NATS; SIGTERM stops it cleanly (the camera stops reporting)."""
    store = Store(pg_url)  # migrated before the server opens it
    yml = tmp_path / "vigil.yml"
    yml.write_text(
        f'bus: {{url: "nats://{cluster.host_ip}:4222", prefix: {nats_prefix}}}\n'
        f"detector: {{kind: motion}}\ncameras: [{{id: yard, source: {CAR_CLIP}, loop: true}}]\n"
    )
    via_bridge = pg_url.replace("@127.0.0.1:", f"@{cluster.host_ip}:")
    argv = [sys.executable, "-m", "vigil", "serve", "--config", str(yml), "--data",
            str(tmp_path / "data"), "--db", via_bridge, "--port", "8089", "--runner", "ray",
            "--ray-address", cluster.head_address]  # fmt: skip
    proc = cluster.popen(0, argv, env={"VIGIL_ADMIN_PASSWORD": "cluster-test-pass-1"},
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)  # fmt: skip
    web = NatsBus(BusConfig(url=NATS_URL, prefix=nats_prefix), consumer="web")
    remote = RemoteDirectory(web, stale_after=3.0)
    try:
        read_until(proc, "Vigil is running at", 120)
        seen = wait_for(lambda: remote.statuses().get("yard"), 120, "the camera over NATS")
        wait_for(lambda: (s := remote.statuses().get("yard")) and s.frames > 0, 60, "frames")
        assert seen.camera_id == "yard"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(90) == 0
        wait_for(lambda: not remote.statuses()["yard"].online, 30, "the camera to stop")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        remote.close()
        web.close()
        store.close()


def _near(box: list[float], other: list[float]) -> bool:
    return all(abs(a - b) < 8 for a, b in zip(box, other, strict=True))


def test_a_lost_node_s_camera_runs_again_elsewhere(
    cluster: Any, pg_url: str, nats_prefix: str, tmp_path: Path
) -> None:
    via_bridge = pg_url.replace("@127.0.0.1:", f"@{cluster.host_ip}:")
    yml = tmp_path / "vigil.yml"
    text = CONFIG.format(host=cluster.host_ip, prefix=nats_prefix, head=cluster.head_address,
                         bound=RESTART_WITHIN_S, car=CAR_CLIP, person=PERSON_CLIP)  # fmt: skip
    yml.write_text(text)
    data = tmp_path / "data"
    argv = [sys.executable, "-m", "vigil.pipeline.cluster.drill", str(yml), via_bridge, str(data)]
    store = Store(pg_url)  # migrated here first: two processes must not both create it
    proc = cluster.popen(0, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=os.getcwd())
    drill = Drill(proc)
    web = NatsBus(BusConfig(url=NATS_URL, prefix=nats_prefix), consumer="web")
    remote = RemoteDirectory(web, stale_after=4.0)
    try:
        ready = drill.read(240)
        placed = ready.get("ready")
        assert placed, ready
        # Placed by cost: two equal cameras on two equal nodes, one each.
        assert sorted(placed.values()) == sorted(cluster.ips), placed
        lost = next(cid for cid, node in placed.items() if node == cluster.ips[1])
        # Their health reaches the web app over NATS, and each worker answers for its own.
        wait_for(lambda: all(s.online for s in remote.statuses().values())
                 and len(remote.statuses()) == 2, 30, "both cameras online over NATS")  # fmt: skip
        assert wait_for(lambda: remote.picture(lost, boxes=False), 15, "a picture of it")
        before = wait_for(lambda: store.count_events(lost), 60, f"events of {lost}")
        wait_for(lambda: _segments(store, lost), 30, f"a recorded segment of {lost}")

        killed_at = cluster.kill_node(1)
        drill.send(f"lost {cluster.ips[1]} {killed_at}")
        back = drill.read(4 * RESTART_WITHIN_S + 30)  # the drill measures past the bound
        assert "recovered" in back and back["within_bound"], back
        (recovery,) = back["recovered"]
        assert recovery["camera"] == lost and back["placed"][lost] == cluster.ips[0]
        assert recovery["since_kill"] < RESTART_WITHIN_S
        print(f"\nfailover: {lost} ran again {recovery['since_kill']:.1f} s after its node was "
              f"killed ({recovery['why']})")  # fmt: skip

        # Nothing stored is lost, and the camera goes on storing.
        assert store.count_events(lost) >= before
        wait_for(lambda: store.count_events(lost) > before, 60, "new events after failover")
        # The segment the dead node left open is cut, the gap after it recorded and closed.
        gap = wait_for(lambda: _closed_cut_gap(store, lost), 60, "the recorded gap")
        assert gap.end is not None and gap.start <= gap.end
        states = {s.state for s in _segments(store, lost)}
        assert "cut" in states, states
    finally:
        if proc.poll() is None:
            drill.send("stop")
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        remote.close()
        web.close()
        store.close()


def _segments(store: Store, camera_id: str) -> list[SegmentRow]:
    with store.session() as s:
        return list(s.scalars(sql_select(SegmentRow).where(SegmentRow.camera_id == camera_id)))


def _closed_cut_gap(store: Store, camera_id: str) -> GapRow | None:
    with store.session() as s:
        gaps = s.scalars(
            sql_select(GapRow).where(GapRow.camera_id == camera_id, GapRow.reason == CUT_REASON)
        )
        return next((g for g in gaps if g.end is not None), None)
