"""Analyzers: a camera's tracks in, events out (zones, lines, loitering, speed; later plates,
faces, fire). The seam is `vigil.analyzers.base.Analyzer`; `registry` builds a camera's set."""

from vigil.analyzers.base import Analyzer, AnalyzerSettings, Counting, TrackedFrame

__all__ = ["Analyzer", "AnalyzerSettings", "Counting", "TrackedFrame"]
