"""The data directory (database, snapshots, session key, audit anchors) is private to the
service's user: the folder 0700, everything Vigil writes into it 0600 / 0700 (umask 077).
Checked, and made so, at every start."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from vigil.errors import VigilError

PRIVATE_DIR = 0o700


def private_data_dir(path: Path, say: Callable[[str], None] | None = None) -> Path:
    """Create `path` (0700) or make it private; from now on this process writes files only
    its own user can read. VigilError when it is not ours to make private."""
    os.umask(0o077)
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(PRIVATE_DIR)
            if say is not None:
                say(
                    f"warning: the data directory {path} was open to other local users "
                    f"(mode {mode:o}); it is private now (700)"
                )
    except PermissionError as exc:
        raise VigilError(
            f"the data directory {path} cannot be made private to this user ({exc.strerror}); "
            "run Vigil as its owner, chmod 700 it, or choose another --data"
        ) from None
    except OSError as exc:
        raise VigilError(
            f"the data directory {path} cannot be used ({exc.strerror}); choose another --data"
        ) from None
    return path


def inside(data_dir: Path, rel: str) -> Path | None:
    """The file a stored relative path (a snapshot's) names, if it lies inside the data
    directory; None for a path that climbs out of it (or names the directory itself)."""
    root = data_dir.resolve()
    path = (root / rel).resolve()
    return path if path.is_relative_to(root) and path != root else None
