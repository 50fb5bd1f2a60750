"""open_source picks the source by the URL's scheme."""

from __future__ import annotations

import pytest

from tests.sources.conftest import CAR_CLIP
from vigil.errors import SourceError
from vigil.sources import FileSource, NetworkSource, open_source


def test_a_path_opens_a_file_source() -> None:
    source = open_source("gate", str(CAR_CLIP), loop=True)
    assert isinstance(source, FileSource) and source.loop and source.camera_id == "gate"


def test_a_file_url_opens_a_file_source() -> None:
    source = open_source("gate", CAR_CLIP.resolve().as_uri())
    assert isinstance(source, FileSource) and source.path == CAR_CLIP.resolve()


@pytest.mark.parametrize(
    "url",
    ["rtsp://127.0.0.1/x", "rtsps://cam/x", "http://cam/v.mjpg", "HTTPS://cam/x", "rtmp://c/x"],
)
def test_network_urls_open_a_network_source(url: str) -> None:
    source = open_source("gate", url, give_up_after=3.0)
    assert isinstance(source, NetworkSource) and source.give_up_after == 3.0
    source.close()  # nothing connects before frames() is called


def test_an_unknown_scheme_lists_the_supported_ones() -> None:
    with pytest.raises(SourceError, match="unsupported source scheme 'ftp://'") as err:
        open_source("gate", "ftp://cam/video.mp4")
    assert "rtsp://" in str(err.value) and "file path" in str(err.value)


def test_an_unknown_option_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="unknown source option.*realtme"):
        open_source("gate", str(CAR_CLIP), realtme=True)


def test_a_missing_windows_style_path_is_a_file() -> None:
    with pytest.raises(SourceError, match="does not exist"):
        open_source("gate", r"C:\videos\gate.mp4")
