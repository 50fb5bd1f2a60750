"""The analyzers of one camera, and the kinds that a camera's `analyzers:` list can name.

Zones (enter, leave, loiter) and counting lines come from a camera's `zones:` and `lines:`;
every other analyzer from its `analyzers:` list, chosen by `kind` among `KINDS` (one line per
kind: its section class).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from vigil.analyzers.base import Analyzer, AnalyzerServices, AnalyzerSettings
from vigil.analyzers.faces import FaceSettings
from vigil.analyzers.fire import FireWatchSettings
from vigil.analyzers.lines import LineCounter
from vigil.analyzers.plates import PlateSettings
from vigil.analyzers.speed import SpeedSettings
from vigil.analyzers.zones import ZoneWatcher
from vigil.sections import literal_kind

if TYPE_CHECKING:
    from vigil.config.camera import CameraConfig

KINDS: tuple[type[AnalyzerSettings], ...] = (
    SpeedSettings,
    PlateSettings,
    FaceSettings,
    FireWatchSettings,
)
KIND_NAMES: tuple[str, ...] = tuple(literal_kind(k) for k in KINDS)

if TYPE_CHECKING:
    AnalyzerConfig = AnalyzerSettings
else:
    AnalyzerConfig = Annotated[Union[KINDS], Field(discriminator="kind")]  # noqa: UP007


def build_analyzers(
    camera: CameraConfig,
    frame_size: tuple[int, int],
    min_frames: int = 2,
    services: AnalyzerServices | None = None,
) -> list[Analyzer]:
    """Every analyzer of `camera` for frames of `frame_size` (width, height): its zones, its
    lines, then its `analyzers:` entries in the order written."""
    width, height = frame_size
    analyzers: list[Analyzer] = [
        ZoneWatcher(camera.id, z, min_frames) for z in camera.zones_px(width, height)
    ]
    analyzers += [LineCounter(camera.id, ln, min_frames) for ln in camera.lines_px(width, height)]
    analyzers += [settings.build(camera, frame_size, services) for settings in camera.analyzers]
    return analyzers
