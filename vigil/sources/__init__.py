"""Video sources: files and network cameras behind one Source protocol."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from vigil.errors import SourceError
from vigil.sources.base import Source
from vigil.sources.file import FileSource
from vigil.sources.network import NetworkSource

__all__ = ["FileSource", "NetworkSource", "Source", "open_source", "SUPPORTED_SCHEMES"]

NETWORK_SCHEMES = ("rtsp", "rtsps", "http", "https", "rtmp", "udp")  # udp: MPEG-TS (drones)
SUPPORTED_SCHEMES = ("file", *NETWORK_SCHEMES)


def _check_options(
    camera_id: str, cls: type[FileSource] | type[NetworkSource], options: dict[str, Any]
) -> None:
    """Reject unknown options with a SourceError: they come from the user's config."""
    params = inspect.signature(cls).parameters
    allowed = [name for name, p in params.items() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise SourceError(
            f"camera '{camera_id}': unknown source option(s) {', '.join(unknown)} for "
            f"{cls.__name__}; supported: {', '.join(allowed) or 'none'}"
        )


def open_source(camera_id: str, url_or_path: str, **options: Any) -> Source:
    """The Source for a file path, file:// URL or network URL, chosen by its scheme."""
    parts = urlsplit(url_or_path)
    scheme = parts.scheme.lower()
    # One letter is a Windows drive ("C:\\videos\\a.mp4"), not a URL scheme.
    if scheme == "" or len(scheme) == 1:
        _check_options(camera_id, FileSource, options)
        return FileSource(camera_id, Path(url_or_path), **options)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise SourceError(
                f"camera '{camera_id}': '{url_or_path}' names a file on another host; "
                "use a local path or file:///path/to/video.mp4"
            )
        _check_options(camera_id, FileSource, options)
        return FileSource(camera_id, Path(unquote(parts.path)), **options)
    if scheme in NETWORK_SCHEMES:
        _check_options(camera_id, NetworkSource, options)
        return NetworkSource(camera_id, url_or_path, **options)
    raise SourceError(
        f"camera '{camera_id}': unsupported source scheme '{scheme}://' in the source setting; "
        f"use a file path or one of {', '.join(s + '://' for s in SUPPORTED_SCHEMES)}"
    )
