"""`vigil cameras discover` and `vigil cameras add`: ONVIF cameras as ready vigil.yml blocks.

The YAML goes to standard output (append it under `cameras:`), what was found and what went
wrong to standard error."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Annotated

import typer
from rich.console import Console

from vigil.integrations import onvif
from vigil.integrations.onvif import OnvifError
from vigil.logtext import shown

cameras_app = typer.Typer(
    help="ONVIF cameras: find them on the network, read their streams, print vigil.yml blocks.",
    no_args_is_help=True,
)
err = Console(stderr=True)

UserOpt = Annotated[str | None, typer.Option("--user", "-u", help="the camera's ONVIF user")]
PasswordEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--password-env", help="environment variable holding the password (never on the line)"
    ),
]
ShowOpt = Annotated[
    bool, typer.Option("--show-password", help="put the password into the printed source URI")
]
TimeoutOpt = Annotated[float, typer.Option(help="seconds to wait for each camera", min=0.1)]


def _password(user: str | None, password_env: str | None) -> str | None:
    if password_env is None:
        return None
    if not user:
        raise OnvifError("--password-env needs --user (the ONVIF user the password is of)")
    value = os.environ.get(password_env)
    if not value:
        raise OnvifError(
            f"the environment variable {shown(password_env)} is not set; export it with the "
            "camera's password, or leave out --password-env"
        )
    return value


def _print(device: onvif.Device, user: str | None, password_env: str | None, password: str | None,
           show: bool) -> int:  # fmt: skip
    blocks = onvif.camera_blocks(device, user, password, password_env, show)
    typer.echo(onvif.blocks_yaml(device, blocks, user), nl=False)
    return len(blocks)


@cameras_app.command("discover")
def discover(
    timeout: Annotated[float, typer.Option(help="seconds to wait for answers", min=0.1)] = 3.0,
    scope: Annotated[
        str | None, typer.Option(help="only cameras with this ONVIF scope (onvif://...)")
    ] = None,
    interface: Annotated[
        str | None, typer.Option(help="probe from this local IPv4 address only")
    ] = None,
    user: UserOpt = None,
    password_env: PasswordEnvOpt = None,
    show_password: ShowOpt = False,
    read_timeout: TimeoutOpt = onvif.DEFAULT_TIMEOUT_S,
) -> None:
    """Find ONVIF cameras by WS-Discovery and print a vigil.yml camera block per stream."""
    password = _password(user, password_env)
    found = onvif.discover(timeout, scope, interface)
    if not found:
        raise onvif.nothing_found(timeout, scope, interface)
    failed = 0
    for item in found:
        try:
            host, port = item.host_port
            device = onvif.read(host, port, user, password, read_timeout)
        except OnvifError as exc:  # one camera that cannot be read does not hide the others
            failed += 1
            err.print(f"[yellow]skipped:[/] {shown(exc)}", highlight=False, soft_wrap=True)
            continue
        _print(replace(device, name=item.name), user, password_env, password, show_password)
    err.print(f"{len(found)} ONVIF device(s) answered, {failed} could not be read", highlight=False)
    if failed == len(found):
        raise typer.Exit(2)


@cameras_app.command("add")
def add(
    address: Annotated[str, typer.Argument(help="HOST or HOST:PORT of the camera's ONVIF service")],
    user: UserOpt = None,
    password_env: PasswordEnvOpt = None,
    show_password: ShowOpt = False,
    timeout: TimeoutOpt = onvif.DEFAULT_TIMEOUT_S,
) -> None:
    """Read one ONVIF camera and print a vigil.yml camera block per stream."""
    password = _password(user, password_env)
    host, port = onvif.parse_address(address)
    device = onvif.read(host, port, user, password, timeout)
    if not _print(device, user, password_env, password, show_password):
        raise OnvifError(f"ONVIF device {host}:{port} has no profile with an RTSP stream")
