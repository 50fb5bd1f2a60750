"""Licence plates: formats per region (`formats`) and reading plates in pictures (`reader`)."""

from vigil.vision.plates.formats import FORMATS, REGIONS, PlateFormat, fit, formats_for, normalise
from vigil.vision.plates.reader import PlateCandidate, PlateReader

__all__ = [
    "FORMATS",
    "REGIONS",
    "PlateCandidate",
    "PlateFormat",
    "PlateReader",
    "fit",
    "formats_for",
    "normalise",
]
