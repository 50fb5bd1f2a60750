"""Telemetry of moving cameras: GoPro GPMF in MP4, DJI SRT sidecars, MISB ST 0601 KLV.

Each reader yields `vigil.domain.Telemetry` in time order, `t` in seconds from the start of
the video (for a raw KLV file, from its first packet).
"""

from vigil.sources.telemetry.common import TelemetryError
from vigil.sources.telemetry.klv import read_klv

__all__ = ["TelemetryError", "read_klv"]
