"""Prometheus metrics. Multi-process aware when PROMETHEUS_MULTIPROC_DIR is set."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("hub_http_requests_total", "HTTP requests served", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "hub_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_DELIVERIES = Counter(
    "hub_webhook_deliveries_total", "Webhook deliveries by outcome", ["integration", "outcome"]
)
JOBS = Counter("hub_jobs_total", "Jobs finished by kind and outcome", ["kind", "outcome"])
JOBS_BY_STATE = Gauge(
    "hub_job_queue_depth",
    "Jobs in the queue by state and kind",
    ["state", "kind"],
    multiprocess_mode="livemax",
)
SYNC_SECONDS = Histogram(
    "hub_sync_latency_seconds",
    "From batch creation to invoices synced",
    ["integration"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600),
)
TOKEN_REFRESHES = Counter(
    "hub_token_refreshes_total", "Token refreshes by outcome", ["integration", "outcome"]
)
PROVIDER_CALLS = Counter(
    "hub_provider_calls_total", "Calls to providers by status", ["integration", "status"]
)


def render() -> tuple[bytes, str]:
    """The exposition text of every metric (merged across processes if configured)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
