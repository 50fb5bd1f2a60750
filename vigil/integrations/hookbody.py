"""What a webhook delivery holds and how it is signed.

The body is JSON: `{"id": <delivery uuid>, "event": "event.<type>" | "alert.<status>",
"webhook": <name>, "created_at": <ISO time>, "data": <the REST resource, trimmed>}`.

The signature is Stripe's scheme: header `Vigil-Signature: t=<unix seconds>,v1=<hex>` where
hex is HMAC-SHA256 with the webhook's secret over the bytes `<t>.<body>`. A receiver recomputes
it, compares in constant time and refuses a `t` too far from its clock (replays).

Never sent: face matches (events or alerts of type face_match), who reviewed an alert and
why (staff names, free text), and, unless the webhook's `send` allows them, the snapshot link
and a plate read's text (a plate event's or alert's attributes)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil.bus import Topic
from vigil.config.webhooks import WebhookConfig
from vigil.domain import EventType

SIGNATURE = "Vigil-Signature"
DELIVERY = "Vigil-Delivery"
EVENT = "Vigil-Event"
NEVER = frozenset({str(EventType.FACE_MATCH)})
SENT_ACTION = "webhooks.sent"  # the audit rows counting what went out
SENT_KINDS = ("events", "alerts", "with_plate", "with_snapshot")  # their counts
ALERT_PRIVATE = ("reviewed_by", "reason", "reviews")  # staff names and their free text


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One delivery's content: its Vigil-Event, the object it is about, and the data."""

    event: str
    object_id: int | None
    data: dict[str, Any]
    plate: bool  # holds a plate read's text
    snapshot: bool  # holds a snapshot link


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The Vigil-Signature header's value."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def outgoing(message: Mapping[str, Any], cfg: WebhookConfig) -> Outgoing | None:
    """What `cfg` sends of one bus message; None when it sends nothing of it."""
    topic, kind = message.get("topic"), str(message.get("type"))
    if kind in NEVER:
        return None
    if topic == Topic.EVENT and cfg.events and kind in cfg.events:
        name = f"event.{kind}"
    elif topic == Topic.ALERT and cfg.rules and message.get("rule") in cfg.rules:
        name = f"alert.{message.get('status')}"
    else:
        return None
    data = {k: v for k, v in message.items() if k not in ("topic", "captured_at")}
    if topic == Topic.ALERT:
        for key in ALERT_PRIVATE:
            data.pop(key, None)
    plate = kind == EventType.PLATE_READ and bool(data.get("attributes"))
    if plate and not cfg.send.plates:
        data["attributes"], plate = {}, False
    snapshot = bool(data.get("snapshot_url")) and cfg.send.snapshots
    if not snapshot:
        data.pop("snapshot_url", None)
    object_id = data.get("id")
    return Outgoing(name, object_id if isinstance(object_id, int) else None, data, plate, snapshot)


def body_of(key: str, cfg: WebhookConfig, out: Outgoing) -> str:
    """The JSON text POSTed (stored as is: every retry sends the same bytes)."""
    doc = {
        "id": key,
        "event": out.event,
        "webhook": cfg.name,
        "created_at": datetime.now(UTC).isoformat(),
        "data": out.data,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, default=str)
