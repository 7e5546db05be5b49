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
        "unit_price": {**_DECIMAL, "description": "Before GST"},
        "tax": {
            "enum": ["gst", "gst_free"],
            "description": "gst: 10% GST is added to the line; absent: the organization's "
            "default_tax (see /settings)",
        },
    },
}

_INVOICE_IN = {
    "type": "object",
    "required": ["number", "participant", "issue_date", "due_date", "currency", "lines"],
    "properties": {
        "number": {"type": "string", "maxLength": 100},
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

_TOTALS = {
    "type": "object",
    "properties": {"subtotal": _DECIMAL, "tax": _DECIMAL, "total": _DECIMAL},
}

_SYNC = {
    "type": "object",
    "properties": {
        "sync_state": {
            "enum": [
                "not_connected", "not_synced_created_before_connection", "queued", "running",
                "synced", "failed", "needs_attention",
            ],
            "description": "needs_attention: held before pushing until ``error`` is fixed",
        },
        "remote_id": {"type": ["string", "null"]},
        "remote_number": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"], "description": "What happened and what to do"},
        "error_code": {"type": ["string", "null"]},
        "error_detail": {"type": ["string", "null"], "description": "The provider's own words"},
        "fix_in": {"enum": ["mapping", "invoice", "provider", None]},
        "totals": {
            "oneOf": [_TOTALS, {"type": "null"}],
            "description": "As the accounting system computed them",
        },
        "totals_mismatch": {
            "type": "boolean",
            "description": "The accounting system's totals differ from ours by more than rounding",
        },
    },
}

_INVOICE_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "number": {"type": "string"},
        "status": {"enum": ["open", "partially_paid", "paid", "void"]},
        "subtotal": {**_DECIMAL, "description": "Before GST"},
        "tax": {**_DECIMAL, "description": "GST, 10% of each gst line, rounded per line"},
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


_MAPPING = {
    "type": "object",
    "properties": {
        "integration": {"type": "string"},
        "complete": {"type": "boolean", "description": "Every field pushing needs has a value"},
        "loaded_at": {"type": ["string", "null"], "format": "date-time"},
        "notes": {"type": "array", "items": {"type": "string"}},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "key": {"type": "string"},
                    "label": {"type": "string"},
                    "help": {"type": "string"},
                    "required": {"type": "boolean"},
                    "value": {"type": ["string", "null"]},
                    "suggested": {"type": ["string", "null"]},
                    "warning": {"type": ["string", "null"]},
                    "options": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "value": {"type": "string"},
                                "label": {"type": "string"},
                                "detail": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}

_MAPPING_PATCH = {
    "type": "object",
    "required": ["values"],
    "additionalProperties": False,
    "properties": {
        "values": {
            "type": "object",
            "description": "Field key -> one of its options' values (null clears an optional one)",
            "additionalProperties": {"type": ["string", "null"]},
        }
    },
}

_SETTINGS = {
    "type": "object",
    "properties": {
        "organization": {"type": "string"},
        "default_tax": {"enum": ["gst", "gst_free"]},
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
    slug = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
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
                "Mapping": _MAPPING,
                "Settings": _SETTINGS,
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
            "/integrations/{slug}/mapping": {
                "get": {
                    "summary": "How Coordinoter's tax treatments, items and participants become "
                    "the connected account's",
                    "parameters": [slug],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Mapping"}, "The mapping"),
                        **_errors(401, 404, 409),
                    },
                },
                "patch": {
                    "summary": "Choose options; invoices held for the mapping are pushed again",
                    "parameters": [slug],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _MAPPING_PATCH}},
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Mapping"}, "Saved"),
                        **_errors(400, 401, 404, 409, 413, 422),
                    },
                },
            },
            "/integrations/{slug}/mapping/refresh": {
                "post": {
                    "summary": "Read the account's tax codes and accounts again",
                    "parameters": [slug],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Mapping"}, "Read again"),
                        **_errors(401, 404, 409, 502),
                    },
                }
            },
            "/settings": {
                "get": {
                    "summary": "The organization's settings",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Settings"}, "Settings"),
                        **_errors(401),
                    },
                },
                "patch": {
                    "summary": "Change the default tax treatment of lines that do not say",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {"default_tax": {"enum": ["gst", "gst_free"]}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Settings"}, "Saved"),
                        **_errors(400, 401, 413, 422),
                    },
                },
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
                    "summary": "Change number, due date, memo or lines; the change is pushed "
                    "(a held or refused invoice is checked and pushed again)",
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
