"""The public API's OpenAPI 3.1 document, generated from the code and template.yaml.

`smsgw openapi [--output docs/openapi.json]` writes it (`command`); `tests/tools/test_openapi.py`
fails when the committed document differs from what the code generates. Nothing here is
typed twice: routes (method, path, authorizer) come from the template, the send request from
`smsgw.models.send_request`, the resources from their `to_resource`, the error codes from
`smsgw.errors.ErrorCode`, the limits from the modules that enforce them. The document is
put together here; its parts are in `routes` (the routes and their error codes),
`customer_routes` (the customer routes' operations), `callbacks` (the carrier callbacks)
and `schemas`.
"""

from __future__ import annotations

import json
from typing import Any

from smsgw_tools.openapi.callbacks import CALLBACK_SERVER, callback_operation
from smsgw_tools.openapi.customer_routes import customer_operation
from smsgw_tools.openapi.routes import METHOD_ORDER, ROUTE_ERRORS
from smsgw_tools.openapi.schemas import components


def build(template: Any = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of `template` (default: the repo's)."""
    if template is None:
        from smsgw_tools.template.loading import load

        template = load()
    from smsgw.api.carrier_callbacks import CALLBACK_ROUTES

    paths: dict[str, dict[str, Any]] = {}
    routes = [(r.method, r.path, r.authorizer is not None) for r in template.routes]
    # The carrier callbacks are served on the webhooks function's URL, not the HTTP API.
    routes += [(method, path, False) for method, path in CALLBACK_ROUTES]
    for method, path, authorized in sorted(routes, key=lambda r: (r[1], METHOD_ORDER.get(r[0], 9))):
        key = (method, path)
        if key in ROUTE_ERRORS:
            operation = customer_operation(key, authorized=authorized)
        elif path.startswith("/v1/Carriers/{Carrier}/"):
            operation = callback_operation(method, path.rsplit("/", 1)[1], template)
            operation["servers"] = [CALLBACK_SERVER]
        else:
            raise ValueError(f"the OpenAPI generator does not know the route {key}")
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smsgw: a programmable SMS API",
            "version": "1",
            "description": (
                "Generated from the code by `smsgw openapi`; do not edit by hand. "
                "The request rules are in docs/api.md, every error code in docs/errors.md."
            ),
        },
        "servers": [{"url": "https://{api}", "variables": {"api": {"default": "api.example.com"}}}],
        "security": [{"BasicAuth": []}],
        "paths": paths,
        "components": components(template),
    }


def documented_errors(document: dict[str, Any], method: str, path: str) -> dict[int, set[int]]:
    """The error codes the document lists for a route, by HTTP status."""
    found: dict[int, set[int]] = {}

    def codes(schema: Any) -> set[int]:
        if isinstance(schema, list):
            return set().union(*(codes(item) for item in schema))
        if not isinstance(schema, dict):
            return set()
        code = (schema.get("properties") or {}).get("Error", {}).get("properties", {}).get("Code")
        own = set(code["enum"]) if code and "enum" in code else set()
        nested = [v for k, v in schema.items() if k in ("allOf", "anyOf", "oneOf")]
        return own | codes(nested)

    operation = document["paths"][path][method.lower()]
    for status, response in operation["responses"].items():
        schema = (response.get("content") or {}).get("application/json", {}).get("schema")
        # The generic Error schema (every code) is a $ref; the route's own list is inline.
        numbers = codes(schema)
        if numbers:
            found[int(status)] = numbers
    return found


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
