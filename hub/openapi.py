"""The JSON API's OpenAPI 3.1 description."""

from __future__ import annotations

from typing import Any

from hub import __version__

_DECIMAL = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["100.14"]}
_DATE = {"type": "string", "format": "date"}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}

_LINE = {
    "type": "object",
    "required": ["description", "item_code", "quantity", "unit_price"],
    "properties": {
        "description": {"type": "string", "maxLength": 4000},
        "item_code": {"type": "string", "maxLength": 100},
        "quantity": _DECIMAL,
        "unit_price": _DECIMAL,
    },
}

_INVOICE_IN = {
    "type": "object",
    "required": ["number", "participant", "issue_date", "due_date", "currency", "lines"],
    "properties": {
        "number": {"type": "string", "maxLength": 21},
        "participant": {
            "type": "object",
            "required": ["id", "name"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "email": {"type": "string", "format": "email"},
            },
        },
        "issue_date": _DATE,
        "due_date": _DATE,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "memo": {"type": "string"},
        "lines": {"type": "array", "minItems": 1, "items": _LINE},
    },
}

_SYNC = {
    "type": "object",
    "properties": {
        "sync_state": {"type": "string"},
        "remote_id": {"type": ["string", "null"]},
        "remote_number": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"]},
    },
}

_INVOICE_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "string"},
        "status": {"enum": ["open", "partially_paid", "paid", "void"]},
        "total": _DECIMAL,
        "amount_paid": _DECIMAL,
        "balance": _DECIMAL,
        "deleted_remotely": {"type": "boolean"},
        "integrations": {"type": "object", "additionalProperties": _SYNC},
    },
}

_BATCH_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "reference": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "integrations": {"type": "object", "additionalProperties": {"type": "object"}},
        "invoices": {"type": "array", "items": _INVOICE_OUT},
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(base_url: str) -> dict[str, Any]:
    """The OpenAPI document for ``/api/v1``."""
    invoice_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Integration Hub API", "version": __version__},
        "servers": [{"url": f"{base_url}/api/v1"}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "Batch": _BATCH_OUT,
                "Invoice": _INVOICE_OUT,
                "BatchIn": {
                    "type": "object",
                    "required": ["reference", "invoices"],
                    "properties": {
                        "reference": {"type": "string", "maxLength": 200},
                        "invoices": {"type": "array", "minItems": 1, "items": _INVOICE_IN},
                    },
                },
            },
        },
        "paths": {
            "/integrations": {
                "get": {
                    "summary": "Installed integrations and this organization's connections",
                    "responses": {"200": _json({"type": "object"}, "The listing"), **_errors(401)},
                }
            },
            "/invoice-batches": {
                "post": {
                    "summary": "Create an invoice batch (pushed to connected integrations)",
                    "parameters": [
                        {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/BatchIn"}}
                        },
                    },
                    "responses": {
                        "201": _json({"$ref": "#/components/schemas/Batch"}, "Created"),
                        "200": _json({"$ref": "#/components/schemas/Batch"}, "Replayed"),
                        **_errors(400, 401, 409, 413, 422, 429),
                    },
                }
            },
            "/invoice-batches/{id}": {
                "get": {
                    "summary": "A batch with its invoices and their sync state",
                    "parameters": [invoice_id],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Batch"}, "The batch"),
                        **_errors(401, 404),
                    },
                }
            },
            "/invoices/{id}": {
                "get": {
                    "summary": "An invoice",
                    "parameters": [invoice_id],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Invoice"}, "The invoice"),
                        **_errors(401, 404),
                    },
                },
                "patch": {
                    "summary": "Change due date, memo or lines; the change is pushed",
                    "parameters": [invoice_id],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Invoice"}, "Changed"),
                        **_errors(400, 401, 404, 409, 422),
                    },
                },
            },
            "/invoices/{id}/void": {
                "post": {
                    "summary": "Void an invoice; the void is pushed",
                    "parameters": [invoice_id],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Invoice"}, "Voided"),
                        **_errors(401, 404, 409),
                    },
                }
            },
        },
    }
