"""The OpenAPI document is the API's contract: it says what every route can answer.

FastAPI documents the answers a route declares and a 422 whose `detail` is a list; Vigil's
refusals are all `{"detail": "<one sentence>"}` and come from more places than the route (no
session, CSRF, the body limit, the Host check, the audit log). `document_errors` adds those to
every operation, each with the one error schema, so a client (and schemathesis) reads what
really comes back.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = "Error"
# Refusals any API route can give, whatever it does.
EVERY_ROUTE = {
    "400": "a request Vigil cannot read (bad host name, unreadable or too deep a body)",
    "401": "not logged in, or the session ended",
    "403": "not allowed: role, camera, missing CSRF token or another site's Origin",
    "404": "no such resource, or one you may not see",
    "413": "the body is larger than server.max_body_bytes",
    "422": "a parameter or field is not valid (the detail names it and the fix)",
    "503": "the audit log cannot be written (nothing is shown until it can), or no live data",
}
_FRAMEWORK_ERRORS = ("HTTPValidationError", "ValidationError")


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` give the contract described above (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _with_errors(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[ERROR] = {
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {"type": "string", "description": "one sentence: what, and the fix"}
        },
    }
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in EVERY_ROUTE.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = body
    for name in _FRAMEWORK_ERRORS:
        components.pop(name, None)
    return schema
