"""The webhooks' numbers for Prometheus (`vigil_webhook_*`, served at /metrics)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from vigil.integrations.webhooks import Webhooks

OUTCOMES = ("delivered", "failed", "dead", "dropped")  # failed: to be tried again


class WebhookCollector(Collector):
    """The dispatcher's numbers at scrape time."""

    def __init__(self, hooks: Webhooks) -> None:
        self.hooks = hooks

    def collect(self) -> Iterator[Any]:
        done = CounterMetricFamily(
            "vigil_webhook_deliveries",
            "webhook attempts by outcome (delivered, failed: tried again, dead, dropped: queue "
            "full)",
            labels=["webhook", "outcome"],
        )
        depth = GaugeMetricFamily(
            "vigil_webhook_queue_depth", "deliveries under way (waiting or being tried)",
            labels=["webhook"],
        )  # fmt: skip
        up = GaugeMetricFamily(
            "vigil_webhook_failing", "1 while the last attempt failed", labels=["webhook"]
        )
        for name, hook in self.hooks.hooks.items():
            for outcome in OUTCOMES:
                done.add_metric([name, outcome], hook.outcomes.get(outcome, 0))
            depth.add_metric([name], hook.under_way)
            up.add_metric([name], hook.failing)
        yield done
        yield depth
        yield up
