"""From a camera's image to the ground and the map.

- `plane`: image pixels to metres on a flat ground plane (a known scale, a homography).
- `earth`: distances and geofences on Earth; WGS 84 positions to and from local metres.
- `camera`: a moving camera's pose (position, platform attitude, sensor angles, field of view)
  to its frame centre, footprint and each pixel's latitude/longitude on a flat ground.
- `fixed`: a fixed camera's configured ground homography, image to latitude/longitude.
- `bearing`: a detection's bearing from its camera (a fixed camera's `view:`, a moving one's
  telemetry): a line on the map.
- `crossing`: where several cameras' bearing lines cross, with its uncertainty (a fire's fix).
"""

from vigil.geo.bearing import BearingLine, ViewConfig, fire_bearing
from vigil.geo.camera import (
    CORNERS,
    CameraPose,
    CameraView,
    camera_view,
    ground_alt_of,
    projected_centre,
)
from vigil.geo.crossing import Fix, intersect, locate
from vigil.geo.earth import (
    EARTH_RADIUS_M,
    LatLon,
    LocalFrame,
    ecef_to_geodetic,
    geodetic_to_ecef,
    haversine_m,
    in_polygon,
)
from vigil.geo.fixed import GroundMap, GroundReferenceConfig
from vigil.geo.plane import GroundPlane, Homography, UniformScale, distance

__all__ = [
    "BearingLine",
    "Fix",
    "ViewConfig",
    "fire_bearing",
    "intersect",
    "locate",
    "CORNERS",
    "EARTH_RADIUS_M",
    "CameraPose",
    "CameraView",
    "GroundMap",
    "GroundPlane",
    "GroundReferenceConfig",
    "Homography",
    "LatLon",
    "LocalFrame",
    "UniformScale",
    "camera_view",
    "distance",
    "ecef_to_geodetic",
    "geodetic_to_ecef",
    "ground_alt_of",
    "haversine_m",
    "in_polygon",
    "projected_centre",
]
