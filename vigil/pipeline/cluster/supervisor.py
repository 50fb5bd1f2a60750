"""Watching the camera actors from the driver, and restarting what a lost node ran.

Every `WATCH_S` the supervisor asks each camera actor for its report and Ray for its live
nodes. A camera is lost when its actor died (Ray says so), its node left the cluster, or its
actor has not answered for `LOST_AFTER_S`. A lost camera is placed again (placement.py: the
surviving node with the lowest measured load) and started there: its recorder marks the
segment the lost node left open `cut` and records the gap until it writes again
(vigil.recording), and everything the camera stored before stays stored (the database is
not on the node). `runner.restart_within_s` is the bound the tests and bench/scale_ray.py
hold the measured time from loss to running again to.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vigil.pipeline.cluster.placement import NoRoom, Placement

log = logging.getLogger(__name__)

WATCH_S = 0.5  # how often the actors and nodes are looked at
LOST_AFTER_S = 5.0  # a running actor that has not answered for this long counts as lost
START_WITHIN_S = 90.0  # a new actor's first answer (it loads its model, opens the store)
SUSPECT_S = 30.0  # a node whose actor died gets no new camera this long, if others have room
RETRY_MAX_S = 30.0  # a camera whose actors keep dying before their first answer: back-off cap


def cause_of(exc: BaseException) -> str:
    """The first-hand reason inside a Ray error (a camera actor's own error, e.g. a model that
    cannot be loaded, comes wrapped in Ray's text and traceback): its last `...Error: ...`."""
    lines = [ln.strip() for ln in str(exc).splitlines()]
    named = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception): ", ln)]
    return (named[-1] if named else type(exc).__name__)[:300]


@dataclass
class Slot:
    """One camera's place in the cluster: its current actor and what it last said."""

    camera_id: str
    actor: Any = None
    node_id: str | None = None
    generation: int = 0
    pending: Any = None  # the report asked for and not answered yet
    answered: float = 0.0  # monotonic time of the last answer (or of the start)
    started: bool = False  # the current actor has answered once
    retry_at: float = 0.0  # monotonic time before which no new actor is made (back-off)
    backoff: float = WATCH_S
    report: dict[str, Any] | None = None
    running: bool = False  # frames analysed by the current actor
    lost_at: float | None = None  # UNIX time the current actor replaced a lost one
    lost_why: str = ""
    from_node: str | None = None


@dataclass(frozen=True, slots=True)
class Recovery:
    camera_id: str
    why: str
    from_node: str | None
    to_node: str | None
    lost_at: float  # UNIX time the loss was noticed
    running_at: float  # UNIX time the new actor's first frame was reported

    def to_json(self) -> dict[str, Any]:
        return {"camera": self.camera_id, "why": self.why, "from_node": self.from_node,
                "to_node": self.to_node, "lost_at": self.lost_at, "running_at": self.running_at,
                "seconds": round(self.running_at - self.lost_at, 3)}  # fmt: skip


@dataclass
class Watch:
    """What the supervisor needs from the runner: make an actor for a camera on a node."""

    spawn: Callable[[str, str], Any]
    nodes: Callable[[], dict[str, float]]  # live node id -> CPUs
    recoveries: list[Recovery] = field(default_factory=list)


class ClusterSupervisor:
    def __init__(self, slots: dict[str, Slot], placement: Placement, watch: Watch) -> None:
        self.slots, self.placement, self.watch = slots, placement, watch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigil-cluster", daemon=True)
        self.lock = threading.Lock()
        self._suspect: dict[str, float] = {}  # node id -> monotonic time it is trusted again

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watch must go on (a GCS hiccup)
                log.exception("the cluster supervisor's check failed; trying again")
                self._stop.wait(WATCH_S)

    def check(self) -> None:
        """One round: nodes, then reports (waits up to WATCH_S for answers)."""
        import ray

        live = self.watch.nodes()
        with self.lock:
            for node_id in [n for n in self.placement.nodes if n not in live]:
                for camera_id in self.placement.remove_node(node_id):
                    self.replace(self.slots[camera_id], "its node left the cluster")
            for node_id, cpus in live.items():
                self.placement.add_node(node_id, cpus)
            for slot in self.slots.values():
                if slot.actor is None and slot.retry_at <= time.monotonic():
                    self.replace(slot, slot.lost_why or "not placed yet")
                elif slot.pending is None:
                    slot.pending = slot.actor.report.remote()
            pending = {s.pending: s for s in self.slots.values() if s.pending is not None}
        if not pending:
            self._stop.wait(WATCH_S)
            return
        ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=WATCH_S)
        now = time.monotonic()
        with self.lock:
            for ref in ready:
                self._answered(pending[ref], ref, now)
            for slot in self.slots.values():
                limit = LOST_AFTER_S if slot.started else START_WITHIN_S
                if slot.pending is not None and now - slot.answered > limit:
                    self.replace(slot, f"its actor did not answer for {limit:g} s")

    def _answered(self, slot: Slot, ref: Any, now: float) -> None:
        import ray

        if slot.pending is not ref:
            return  # an old actor's answer
        slot.pending = None
        try:
            report: dict[str, Any] = ray.get(ref)
        except ray.exceptions.RayError as exc:
            self.replace(slot, f"its actor died ({cause_of(exc)})")
            return
        slot.answered, slot.report, slot.started = now, report, True
        if report.get("cores") is not None:
            self.placement.measured(slot.camera_id, float(report["cores"]))
        if not slot.running and int(report["status"].get("frames", 0)) > 0:
            slot.running = True
            if slot.lost_at is not None:
                recovery = Recovery(slot.camera_id, slot.lost_why, slot.from_node,
                                    slot.node_id, slot.lost_at, time.time())  # fmt: skip
                self.watch.recoveries.append(recovery)
                took = recovery.running_at - slot.lost_at
                log.warning("camera '%s' runs again on node %s, %.1f s after it was lost",
                            slot.camera_id, slot.node_id, took)  # fmt: skip
                slot.lost_at = None

    def replace(self, slot: Slot, why: str) -> None:
        """Start the camera anew on the best live node (the old actor killed, if any)."""
        import ray

        first = slot.actor is None and slot.generation == 0
        if slot.actor is not None:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor, no_restart=True)
            log.warning("camera '%s' lost on node %s: %s; starting it again", slot.camera_id,
                        slot.node_id, why)  # fmt: skip
            if slot.lost_at is None:  # a recovery counts from the first loss
                slot.lost_at, slot.from_node = time.time(), slot.node_id
            slot.lost_why = why
            if slot.node_id is not None:
                self._suspect[slot.node_id] = time.monotonic() + SUSPECT_S
            if slot.started:
                slot.backoff = WATCH_S
            else:  # died before its first answer (a model, the database): not every round
                slot.retry_at = time.monotonic() + slot.backoff
                slot.backoff = min(slot.backoff * 2, RETRY_MAX_S)
        slot.actor, slot.pending, slot.report = None, None, None
        slot.running = slot.started = False
        self.placement.release(slot.camera_id)
        if slot.retry_at > time.monotonic():
            return  # placed again once its back-off has passed
        now = time.monotonic()
        avoid = frozenset(n for n, until in self._suspect.items() if until > now)
        try:
            node_id = self.placement.place(slot.camera_id, avoid)
        except NoRoom as exc:
            if first or slot.lost_why != str(exc):
                log.error("%s", exc)
            slot.lost_why, slot.node_id = str(exc), None
            return
        slot.node_id, slot.generation = node_id, slot.generation + 1
        slot.actor = self.watch.spawn(slot.camera_id, node_id)
        slot.answered = time.monotonic()
