"""The test camera: ipycam (PyPI, MIT) as an ONVIF camera on one address, streaming a real
clip as H.264 over its own RTSP server (which encodes with the ffmpeg program), looping.

    python tests/integrations/ipycam_camera.py --ip 10.77.0.2 --video clip.mp4 [--user U]

The password comes from $IPYCAM_PASSWORD. It prints `ready` once it answers, and runs until
killed. ipycam binds every interface (and WS-Discovery's port 3702), so the tests run it in a
network namespace of its own."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any

import av
import numpy as np


def frames(path: str, width: int, height: int) -> list[np.ndarray]:
    """The clip's frames at the stream's size (a few seconds, looped by the caller)."""
    out = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="bgr24", width=width, height=height))
            if len(out) >= 100:
                break
    return out


def conformant_probe_matches(camera: Any) -> None:
    """ipycam 1.3.0 answers a WS-Discovery Probe with action .../discovery/ProbeMatch and a bare
    <d:ProbeMatch> body; WS-Discovery (2005/04, which ONVIF uses) says .../ProbeMatches with
    the match inside <d:ProbeMatches>, and clients (the wsdiscovery package among them) ignore
    anything else. The test camera answers as the standard and real cameras do."""
    made = camera.onvif.create_probe_match

    def create_probe_match(relates_to: str) -> str:
        text: str = made(relates_to)
        text = text.replace("/discovery/ProbeMatch<", "/discovery/ProbeMatches<")
        text = text.replace("<d:ProbeMatch>", "<d:ProbeMatches><d:ProbeMatch>")
        return text.replace("</d:ProbeMatch>", "</d:ProbeMatch></d:ProbeMatches>")

    camera.onvif.create_probe_match = create_probe_match


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ip", required=True)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--rtsp-port", type=int, default=8554)
    parser.add_argument("--video", required=True)
    parser.add_argument("--user", default="")
    # ipycam puts the name into its onvif://www.onvif.org/name/ scope as it is: a space there
    # would split it in two (scopes are a space-separated list), so it is given URI-encoded.
    parser.add_argument("--name", default="Test%20Lobby")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from ipycam import CameraConfig, IPCamera

    config = CameraConfig(
        name=args.name, local_ip=args.ip, onvif_port=args.port, rtsp_port=args.rtsp_port,
        main_width=640, main_height=360, main_fps=10, main_bitrate="1M",
        sub_width=320, sub_height=180, sub_fps=10, sub_bitrate="1M",
        show_timestamp=False, hw_accel="cpu",
    )  # fmt: skip
    if args.user:
        ok, why = config.set_credentials(args.user, os.environ.get("IPYCAM_PASSWORD", ""))
        if not ok:
            sys.exit(f"ipycam refused the credentials: {why}")
    camera = IPCamera(config)
    conformant_probe_matches(camera)
    if not camera.start():
        sys.exit("ipycam did not start")
    if camera.rtsp_server is None:
        sys.exit(f"ipycam has no RTSP server (streaming mode {camera.streaming_mode})")
    clip = frames(args.video, config.main_width, config.main_height)
    print("ready", flush=True)
    i = 0
    try:
        while True:
            camera.stream(clip[i % len(clip)])  # paced to main_fps by ipycam
            i += 1
    except KeyboardInterrupt:
        pass
    finally:
        camera.stop()
        time.sleep(0.1)


if __name__ == "__main__":
    main()
