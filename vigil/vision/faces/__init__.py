"""Faces: detection (CenterFace), quality gates, alignment and 128-d embeddings (dlib)."""

from vigil.vision.faces.engine import MATCH_THRESHOLD, Face, FaceEngine, distance, is_match
from vigil.vision.faces.quality import BLURRED, TOO_SMALL, TURNED_AWAY, FaceGates, Quality

__all__ = [
    "BLURRED",
    "MATCH_THRESHOLD",
    "TOO_SMALL",
    "TURNED_AWAY",
    "Face",
    "FaceEngine",
    "FaceGates",
    "Quality",
    "distance",
    "is_match",
]
