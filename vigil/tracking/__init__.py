"""Tracking: detections over time into tracks with stable ids, and what tracks do (analytics)."""

from vigil.tracking.kalman import BoxKalman, KalmanParams
from vigil.tracking.tracker import Tracker, TrackerParams, TrackerUpdate

__all__ = ["BoxKalman", "KalmanParams", "Tracker", "TrackerParams", "TrackerUpdate"]
