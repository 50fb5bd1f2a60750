"""Webhooks, for admins: each receiver's health, the delivery log (the dead-letter list is
`?state=dead`) and the retry of a dead delivery. Every read and retry is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from vigil.api.auditing import AuditNote, audited
from vigil.api.deps import Principal, StateDep, require_role, require_user
from vigil.api.schemas import Model
from vigil.config.webhooks import NAME_PATTERN
from vigil.domain import DeliveryState, Role
from vigil.integrations.webhooks import STATE_KEY, Webhooks
from vigil.store.deliveries import Deliveries, delivery_record

router = APIRouter(tags=["webhooks"], dependencies=[Depends(require_user)])
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
MAX_LIMIT = 500
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the delivery's id")]


class WebhookOut(Model):
    name: str
    url: str
    state: str = Field(description="ok, failing (the last attempt failed) or idle (none yet)")
    last_error: str | None
    last_delivered_at: str | None
    under_way: int = Field(description="deliveries waiting or being tried")
    delivered: int = Field(description="since the server started")
    failed: int = Field(description="attempts that failed and were tried again")
    dead: int
    dropped: int = Field(description="not queued: queue_size deliveries were under way")


class DeliveryOut(Model):
    id: int
    key: str = Field(description="the Vigil-Delivery header: the same on every attempt")
    webhook: str
    event: str = Field(description="the Vigil-Event header: event.<type> or alert.<status>")
    object_id: int | None
    state: DeliveryState
    attempts: int
    last_status: int | None = Field(description="the receiver's last HTTP status")
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    next_at: datetime | None
    delivered_at: datetime | None


def _running(state: StateDep) -> Webhooks | None:
    found = state.extra.get(STATE_KEY)
    return found if isinstance(found, Webhooks) else None


@router.get(
    "/api/webhooks", response_model=list[WebhookOut], dependencies=[audited("webhooks.list")]
)
def list_webhooks(user: Admin, state: StateDep) -> list[WebhookOut]:
    """The configured webhooks and how each is doing (no secret)."""
    hooks = _running(state)
    return [WebhookOut.model_validate(h) for h in (hooks.health() if hooks else [])]


@router.get(
    "/api/webhooks/deliveries",
    response_model=list[DeliveryOut],
    dependencies=[audited("webhooks.deliveries", "webhook_delivery")],
)
def list_deliveries(
    user: Admin,
    state: StateDep,
    delivery_state: Annotated[
        DeliveryState | None, Query(alias="state", description="dead: the dead-letter list")
    ] = None,
    webhook: Annotated[
        str | None, Query(pattern=NAME_PATTERN, description="one webhook's (its name)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="the newest first")] = 100,
) -> list[DeliveryOut]:
    """The delivery log, newest first (never the bodies sent)."""
    rows = Deliveries(state.store).listed(delivery_state, webhook, limit)
    return [DeliveryOut.model_validate(delivery_record(r)) for r in rows]


@router.post(
    "/api/webhooks/deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    responses={409: {"description": "not dead, or no webhook of that name is running"}},
)
async def retry_delivery(
    delivery_id: DeliveryId,
    note: Annotated[AuditNote, audited("webhooks.retry", "webhook_delivery")],
    user: Admin,
    state: StateDep,
) -> DeliveryOut:
    """Try a dead delivery again: its attempts start afresh, with the same Vigil-Delivery key
    (a receiver that saw it already can tell)."""
    note.object_id = str(delivery_id)
    hooks = _running(state)
    if hooks is None:
        row = await run_in_threadpool(Deliveries(state.store).get, delivery_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no webhook delivery {delivery_id}")
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "no webhooks run on this server (none in vigil.yml); add the webhook and restart",
        )
    row = await hooks.retry(delivery_id)
    return DeliveryOut.model_validate(delivery_record(row))
