"""A moving camera's `mount:` section: what its telemetry may not say (a GoPro's records no
field of view; a body camera's no height above the ground)."""

from __future__ import annotations

from pydantic import Field

from vigil.sections import Strict


class MountConfig(Strict):
    """How a body camera or drone camera is built and carried, where telemetry lacks it."""

    hfov: float | None = Field(
        None, gt=0.0, lt=180.0, description="the lens' horizontal field of view, degrees"
    )
    height: float | None = Field(
        None, gt=0.0, le=10_000.0, description="the camera's height above the ground, metres"
    )
    ground_alt: float | None = Field(
        None, ge=-1_000.0, le=10_000.0,
        description="the ground's elevation on the telemetry's altitude datum, metres",
    )  # fmt: skip
