"""What a recorder is given by its user, checked before anything is opened or stored."""

from __future__ import annotations

import functools
import math
import re

from vigil.config.camera import CameraConfig
from vigil.errors import VigilError
from vigil.logtext import shown


@functools.cache
def _id_pattern() -> str:
    return str(CameraConfig.model_json_schema()["properties"]["id"]["pattern"])


def check_camera_id(camera_id: str) -> str:
    """A camera id as vigil.yml allows it (it names the recordings' folder)."""
    if not re.fullmatch(_id_pattern(), camera_id) or set(camera_id) == {"."}:
        raise VigilError(
            f"'{shown(camera_id)}' is not a camera id; use 1 to 64 letters, digits, '_', "
            "'.' or '-' (not only dots)"
        )
    return camera_id


def check_duration(for_s: float | None) -> None:
    if for_s is not None and not (math.isfinite(for_s) and for_s > 0):
        raise VigilError(
            f"the recording time (--for) must be a number of seconds above 0, not {for_s}"
        )
