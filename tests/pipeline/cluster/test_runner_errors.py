"""What a user meets choosing the Ray runner wrongly: one clear line each, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import _camera_config, assert_clear_error, free_port, vigil
from vigil.config import parse_config
from vigil.errors import ConfigError, VigilError
from vigil.pipeline.cluster.runner import check_reachable


def test_an_unknown_runner_is_named(tmp_path: Path) -> None:
    cfg = _camera_config(tmp_path)
    proc = vigil("serve", "--config", str(cfg), "--data", str(tmp_path), "--runner", "k8s",
                 "--port", str(free_port()))  # fmt: skip
    assert_clear_error(proc, "--runner 'k8s' is not a runner", "in-process, ray")


def test_a_ray_address_without_the_ray_runner_says_so(tmp_path: Path) -> None:
    cfg = _camera_config(tmp_path)
    proc = vigil("worker", "--config", str(cfg), "--data", str(tmp_path),
                 "--ray-address", "10.0.0.5:6379")  # fmt: skip
    assert_clear_error(proc, "--ray-address goes with --runner ray")


def test_the_ray_runner_without_a_bus_says_to_set_bus_url(tmp_path: Path) -> None:
    cfg = _camera_config(tmp_path)
    proc = vigil("serve", "--config", str(cfg), "--data", str(tmp_path), "--runner", "ray",
                 "--port", str(free_port()))  # fmt: skip
    assert_clear_error(proc, "runner.kind ray", "set bus.url")


def test_the_runner_section_is_checked_with_its_line() -> None:
    with pytest.raises(ConfigError, match="camera_cpus"):
        parse_config("runner:\n  kind: ray\n  camera_cpus: 0\n")
    with pytest.raises(ConfigError, match="kind"):
        parse_config("runner: {kind: kubernetes}\n")
    assert parse_config("").runner.kind == "in-process"  # the default stays


def test_an_unreachable_ray_head_is_one_clear_error_at_once() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(VigilError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}", timeout=2)
    with pytest.raises(VigilError, match="must be host:port"):
        check_reachable("head-node")
