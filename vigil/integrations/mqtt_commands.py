"""Commands that come in over MQTT: `<prefix>/alerts/<id>/acknowledge` with a JSON payload
`{"user": <name>, "token": <secret>, "reason": <optional note>}`.

An MQTT message does not say who published it (not even to a broker that checked the login),
so the sender proves itself with the token configured for its name in `mqtt.commands.user_map`;
the name maps to a Vigil user, who must be an operator (or above) who may see the alert's
camera, and the acknowledgement is recorded and audited as that Vigil user. Anyone who can read
the command topic on the broker can read the token too: restrict it with the broker's ACLs and
use TLS (see docs/integrations.md). The answer goes to `<topic>/result`."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from vigil.domain import AlertStatus, Role
from vigil.errors import VigilError
from vigil.integrations.mqtt_ha import ACKNOWLEDGE, MqttKind, Publish
from vigil.logtext import escape

if TYPE_CHECKING:
    from vigil.integrations.mqtt import MqttLink

log = logging.getLogger(__name__)
OUTCOMES = ("done", "refused", "malformed")
REFUSED_ACTION = "mqtt.refused"


@functools.cache
def _command_model() -> type[BaseModel]:
    """The payload's model, with the API's rule for a review's reason (imported here: the
    API imports this module's link)."""
    from vigil.api.schemas import Reason

    return create_model(
        "AckCommand",
        __config__=ConfigDict(extra="forbid"),
        user=(str, ...),
        token=(str, ...),
        reason=(Reason | None, None),
    )


@dataclass(frozen=True, slots=True)
class AckCommand:
    user: str
    token: str
    reason: str | None


class Refused(Exception):
    """A command not carried out; the message says why (sent back, logged)."""


async def handle(link: MqttLink, topic: str, payload: bytes) -> Publish | None:
    """Carry out one command; the answer to publish (None: not a command topic)."""
    parts = topic.split("/")
    prefix = link.topics.p
    if len(parts) != 4 or parts[0] != prefix or parts[1] != "alerts" or parts[3] != ACKNOWLEDGE:
        return None
    ident = parts[2]
    try:
        command = _parse(ident, payload)
        vigil_user = await asyncio.to_thread(_carry_out, link, int(ident), command)
    except Refused as why:
        outcome = "malformed" if str(why).startswith("malformed") else "refused"
        link.commands[outcome] += 1
        log.warning("MQTT: acknowledge of alert %s refused: %s", escape(ident, 20), why)
        await asyncio.to_thread(_audit_refusal, link, ident, str(why))
        answer: dict[str, Any] = {"ok": False, "error": str(why)}
    else:
        link.commands["done"] += 1
        answer = {"ok": True, "alert": int(ident), "by": vigil_user}
    return Publish(
        link.topics.result(escape(ident, 20)), json.dumps(answer), False, MqttKind.RESULT
    )


def _parse(ident: str, payload: bytes) -> AckCommand:
    if not ident.isdigit() or len(ident) > 18:
        raise Refused(f"malformed: '{escape(ident, 20)}' is not an alert id")
    try:
        command = _command_model().model_validate(json.loads(payload.decode("utf-8")))
    except (ValueError, ValidationError):
        raise Refused(
            'malformed: the payload must be JSON {"user": ..., "token": ..., "reason": ...}'
        ) from None
    return AckCommand(command.user, command.token, command.reason)  # type: ignore[attr-defined]


def _carry_out(link: MqttLink, alert_id: int, command: AckCommand) -> str:
    """Acknowledge as the mapped Vigil user; that user's name."""
    mapped = link.cfg.commands.user_map.get(command.user)
    if mapped is None or not secrets.compare_digest(command.token.encode(), mapped.token.encode()):
        raise Refused(f"user '{escape(command.user, 40)}' is not configured or the token is wrong")
    state = link.state
    user = state.users.by_name(mapped.vigil_user)
    if user is None or user.disabled or not Role(user.role).at_least(Role.OPERATOR):
        raise Refused(f"Vigil user '{mapped.vigil_user}' is not an enabled operator")
    alert = state.alerts.alerts.get(alert_id)
    if alert is None or (user.cameras is not None and alert.camera_id not in user.cameras):
        raise Refused(f"alert {alert_id} is not there for '{mapped.vigil_user}'")
    try:
        state.alerts.review(alert_id, AlertStatus.ACKNOWLEDGED, user.username, command.reason)
    except VigilError as exc:
        raise Refused(str(exc)) from None
    state.audit.append(
        user.username, "alerts.review", "alert", alert_id,
        details={"action": "acknowledge", "via": "mqtt", "mqtt_user": command.user},
    )  # fmt: skip
    return str(user.username)


def _audit_refusal(link: MqttLink, ident: str, why: str) -> None:
    try:
        link.state.audit.append(
            "system:mqtt", REFUSED_ACTION, "alert", escape(ident, 20),
            details={"reason": why[:300]},
        )  # fmt: skip
    except Exception:  # the database is away: the log line said it
        log.exception("MQTT: a refused command could not be audited")
