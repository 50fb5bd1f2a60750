"""Where each camera runs: the node whose measured load, with the camera added, is lowest for
its size. Pure bookkeeping (no Ray), so the rule is tested on its own.

A camera's cost is what its actor measured (CPU seconds per second of wall time: its
analysis thread, recorder and decoder process together); until it has measured any, the CPU
share it asked for. A camera is placed when it starts and again when its node is lost.
Running cameras are not moved to even the load out: a move ends the camera's tracks and
opens a gap in its recording, which costs more than an uneven node does. New and restarted
cameras go where the measured load is lowest, so the cluster evens out as cameras come and go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vigil.errors import VigilError


class NoRoom(VigilError):
    """No live node has CPUs left for one more camera actor."""


@dataclass(slots=True)
class NodeLoad:
    node_id: str
    cpus: float  # what the node offers Ray
    cameras: dict[str, float] = field(default_factory=dict)  # camera id -> cost

    @property
    def load(self) -> float:
        return sum(self.cameras.values())


class Placement:
    """Cameras on nodes. `asks` is the CPU share each camera actor reserves."""

    def __init__(self, asks: float) -> None:
        self.asks = asks
        self.nodes: dict[str, NodeLoad] = {}
        self.costs: dict[str, float] = {}  # the last measured cost of each camera, kept

    def add_node(self, node_id: str, cpus: float) -> None:
        if node_id not in self.nodes:
            self.nodes[node_id] = NodeLoad(node_id, cpus)

    def node_of(self, camera_id: str) -> str | None:
        for node in self.nodes.values():
            if camera_id in node.cameras:
                return node.node_id
        return None

    def cost_of(self, camera_id: str) -> float:
        return self.costs.get(camera_id, self.asks)

    def place(self, camera_id: str, avoid: frozenset[str] = frozenset()) -> str:
        """The node for `camera_id` (recorded there); NoRoom when every node is full. Nodes
        in `avoid` (one whose actor just died) are taken only when no other has room."""
        self.release(camera_id)
        cost = self.cost_of(camera_id)
        room = [n for n in self.nodes.values() if (len(n.cameras) + 1) * self.asks <= n.cpus]
        room = [n for n in room if n.node_id not in avoid] or room
        if not room:
            total = sum(n.cpus for n in self.nodes.values())
            raise NoRoom(
                f"no node has {self.asks:g} CPUs left for camera '{camera_id}' ({total:g} CPUs "
                f"on {len(self.nodes)} nodes); add nodes or lower runner.camera_cpus"
            )
        best = min(room, key=lambda n: ((n.load + cost) / n.cpus, len(n.cameras), n.node_id))
        best.cameras[camera_id] = cost
        return best.node_id

    def measured(self, camera_id: str, cost: float) -> None:
        """The camera's actor measured `cost`; it counts for its node from now on."""
        self.costs[camera_id] = cost
        for node in self.nodes.values():
            if camera_id in node.cameras:
                node.cameras[camera_id] = cost

    def release(self, camera_id: str) -> None:
        for node in self.nodes.values():
            node.cameras.pop(camera_id, None)

    def remove_node(self, node_id: str) -> list[str]:
        """A node is gone: the cameras that ran on it (to be placed again)."""
        node = self.nodes.pop(node_id, None)
        return sorted(node.cameras) if node is not None else []

    def loads(self) -> dict[str, float]:
        return {n.node_id: round(n.load, 4) for n in self.nodes.values()}
