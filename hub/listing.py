"""Manage Integrations: every installed integration and its state for one organization."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from hub.mapping import mapping_view
from hub.models import Connection, ConnectionMapping, ConnectionStatus
from hub.plugins import PluginHost

STATE_LABELS = {
    "not_connected": "Not connected",
    "connected": "Connected",
    "needs_reconnect": "Reconnect needed",
}


def integration_listing(
    session: Session, plugins: PluginHost, organization_id: int
) -> list[dict[str, Any]]:
    """One entry per installed integration, with this organization's connection state."""
    connections = {
        c.integration: c
        for c in session.exec(
            select(Connection).where(Connection.organization_id == organization_id)
        ).all()
    }
    mappings = {
        row.connection_id: mapping_view(row)
        for row in session.exec(
            select(ConnectionMapping).where(
                col(ConnectionMapping.connection_id).in_([c.id for c in connections.values()])
            )
        ).all()
    } if connections else {}
    listing = []
    for integration in plugins.integrations:
        info = integration.info
        connection = connections.get(integration.slug)
        status = connection.status if connection else ConnectionStatus.disconnected.value
        state = "not_connected" if status == ConnectionStatus.disconnected.value else status
        label = STATE_LABELS[state]
        if state == "connected" and connection is not None:
            label = f"Connected to {connection.external_account_name}"
        live = connection is not None and state != "not_connected"
        listing.append(
            {
                "slug": integration.slug,
                "name": info.name,
                "description": info.description,
                "logo": info.logo,
                "docs_url": info.docs_url,
                "help_url": info.help_url or info.docs_url,
                "version": integration.version,
                "capabilities": {
                    "webhooks": info.capabilities.webhooks,
                    "two_way": info.capabilities.two_way,
                    "reconciliation": info.capabilities.reconciliation,
                },
                "state": state,
                "state_label": label,
                "account": (
                    {
                        "id": connection.external_account_id,
                        "name": connection.external_account_name,
                        "environment": connection.environment,
                    }
                    if live and connection is not None
                    else None
                ),
                "connected_at": (
                    connection.connected_at.isoformat()
                    if live and connection is not None and connection.connected_at
                    else None
                ),
                "last_error": connection.last_error if live and connection is not None else None,
                #: What pushing still needs chosen on the mapping page, in words.
                "mapping_missing": mappings[connection.id].missing_phrase
                if live and connection is not None and connection.id in mappings
                else "",
            }
        )
    return listing
