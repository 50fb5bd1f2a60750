"""The `runner:` section of vigil.yml: where the cameras run.

    runner:
      kind: ray                    # in-process (the default) or ray
      address: 10.0.0.5:6379       # an existing Ray cluster's head (omit: start one here)
      camera_cpus: 0.5             # the CPU share each camera actor asks for
      pool:                        # optional: a detector pool instead of a detector per camera
        size: 2
        gpus: 1

With `ray` every camera is a Ray actor on some node of the cluster (vigil.pipeline.cluster);
its results go over the bus (NATS, `bus.url`) and into the database like `vigil worker`'s.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from vigil.errors import ConfigError
from vigil.sections import Strict

RunnerKind = Literal["in-process", "ray"]
RUNNER_KINDS: tuple[str, ...] = get_args(RunnerKind)


class PoolConfig(Strict):
    """Detector actors that serve many cameras' detection requests in batches."""

    size: int = Field(1, ge=1, le=1024, description="detector actors in the pool")
    cpus: float = Field(1.0, gt=0, le=256, description="CPUs each detector actor asks for")
    gpus: float = Field(0.0, ge=0, le=64, description="GPUs each detector actor asks for")
    batch: int = Field(8, ge=1, le=256, description="most requests one detector call takes")
    batch_wait_ms: float = Field(
        5.0, ge=0, le=1000, description="how long a detector waits to fill a batch"
    )


class RunnerConfig(Strict):
    """Where the cameras run: in this process (decoder processes + threads) or on Ray."""

    kind: RunnerKind = "in-process"
    address: str | None = Field(
        None, description="the Ray cluster to join, host:port of its head (omit: a local one)"
    )
    camera_cpus: float = Field(
        0.5, gt=0, le=64, description="CPUs each camera actor asks Ray for (fractions allowed)"
    )
    camera_gpus: float = Field(
        0.0, ge=0, le=8, description="GPUs each camera actor asks for (its own detector's)"
    )
    pool: PoolConfig | None = Field(
        None, description="a detector pool; without one each camera detects on its own node"
    )
    restart_within_s: float = Field(
        30.0, gt=0, le=600, description="a lost camera must run again within this time"
    )


def with_options(runner: RunnerConfig, kind: str | None, address: str | None) -> RunnerConfig:
    """The section as `--runner` and `--ray-address` change it (None: as in vigil.yml)."""
    if kind is not None and kind not in RUNNER_KINDS:
        kinds = ", ".join(RUNNER_KINDS)
        raise ConfigError(f"--runner '{kind}' is not a runner; use one of {kinds}")
    update: dict[str, object] = {}
    if kind is not None:
        update["kind"] = kind
    if address is not None:
        if (kind or runner.kind) != "ray":
            raise ConfigError("--ray-address goes with --runner ray (or runner.kind: ray)")
        update["address"] = address
    return runner.model_copy(update=update)
