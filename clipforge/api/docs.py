"""/docs: the API's reference, rendered here from the OpenAPI document (/openapi.json).

FastAPI's Swagger UI and ReDoc load their scripts from a CDN, which the pages' CSP
(app.py) refuses, so they showed a blank page; this one needs no script at all.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from clipforge.api.web import templates

router = APIRouter(include_in_schema=False)
METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {_schema_name(schema.get('items', {}))}"
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return " or ".join(_schema_name(o) for o in options)
    return str(schema.get("type", "any"))


def operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation, as the page lists it."""
    found = []
    for path, items in doc.get("paths", {}).items():
        for method in METHODS:
            op = items.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {})
            found.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""), "tag": (op.get("tags") or [""])[0],
                "parameters": [(p["name"], p["in"], _schema_name(p.get("schema", {})),
                                p.get("required", False)) for p in op.get("parameters", [])],
                "body": [(kind, _schema_name(v.get("schema", {}))) for kind, v in body.items()],
                "responses": sorted(op.get("responses", {})),
            })
    return found


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    doc = request.app.openapi()
    return templates.TemplateResponse(request, "docs.html", {
        "info": doc.get("info", {}), "operations": operations(doc),
        "schemas": sorted(doc.get("components", {}).get("schemas", {}))})
