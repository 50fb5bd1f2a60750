"""A tiny RTSP test camera: GStreamer's RTSP server streaming a moving ball as H.264.

Run with Debian's /usr/bin/python3 (it has `gi`), not the project's venv:

    /usr/bin/python3 tests/sources/rtsp_server.py --port 8554 --mount /cam

It prints "ready" once listening on 127.0.0.1 and serves until killed.
`--check` only verifies that everything it needs is installed (exit 0) or names what is
missing (exit 1), so the tests can tell "tool missing" from "server broken".
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

PIPELINE = (
    "( videotestsrc is-live=true pattern=ball"
    " ! video/x-raw,width=320,height=240,framerate=15/1"
    " ! x264enc tune=zerolatency key-int-max=15 speed-preset=ultrafast"
    " ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
NEEDED_ELEMENTS = ("videotestsrc", "x264enc", "rtph264pay")


def load_gst() -> tuple[Any, Any, Any]:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    return GLib, Gst, GstRtspServer


def check() -> int:
    try:
        _, gst, _ = load_gst()
    except (ImportError, ValueError) as exc:
        print(f"missing GStreamer Python bindings or GstRtspServer: {exc}")
        return 1
    missing = [name for name in NEEDED_ELEMENTS if gst.ElementFactory.find(name) is None]
    if missing:
        print("missing GStreamer elements: " + ", ".join(missing))
        return 1
    print("ok")
    return 0


def serve(port: int, mount: str) -> int:
    glib, _, rtsp = load_gst()
    server = rtsp.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    factory = rtsp.RTSPMediaFactory()
    factory.set_launch(PIPELINE)
    # One encoder shared by all clients: reconnecting clients see the same live stream.
    factory.set_shared(True)
    server.get_mount_points().add_factory(mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{port}", flush=True)
        return 1
    print("ready", flush=True)
    glib.MainLoop().run()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--mount", default="/cam")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    return check() if args.check else serve(args.port, args.mount)


if __name__ == "__main__":
    sys.exit(main())
