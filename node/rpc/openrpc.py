"""The OpenRPC 1.2 document `rpc.discover` returns, generated from the registry.

Each method's params come from its pydantic model's JSON schema (one content descriptor per
field, in declaration order, `required` as the model says); shared definitions are hoisted
into ``components.schemas`` so every ``$ref`` resolves inside the document. The WebSocket
built-ins `subscribe` and `unsubscribe` are listed too, marked as WebSocket only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from node.rpc.jsonrpc import Example, MethodSpec

OPENRPC_VERSION = "1.2.6"
REF_TEMPLATE = "#/components/schemas/{model}"


def _example_pairing(spec: MethodSpec, example: Example) -> dict[str, Any]:
    known = set(spec.param_names())
    for name in example.params:
        assert name in known, f"{spec.name} example {example.name!r}: unknown param {name}"
    pairing: dict[str, Any] = {
        "name": example.name,
        "params": [{"name": n, "value": v} for n, v in example.params.items()],
        "result": {"name": "result", "value": example.result},
    }
    if example.description:
        pairing["description"] = example.description
    return pairing


def _params(spec: MethodSpec, schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    descriptors = []
    for name in spec.param_names():
        property_schema = dict(properties.get(name, {}))
        descriptor: dict[str, Any] = {"name": name, "required": name in required}
        if "description" in property_schema:
            descriptor["description"] = property_schema["description"]
        descriptor["schema"] = property_schema
        descriptors.append(descriptor)
    return descriptors


def build_document(
    methods: Iterable[MethodSpec], *, title: str = "Agora JSON-RPC", version: str = "0.1.0"
) -> dict[str, Any]:
    """An OpenRPC 1.2 document describing `methods`, sorted by name."""
    specs = sorted(methods, key=lambda spec: spec.name)
    models: list[tuple[type[BaseModel], Any]] = []
    for spec in specs:
        models.append((spec.params, "validation"))
        if isinstance(spec.result, type) and issubclass(spec.result, BaseModel):
            models.append((spec.result, "serialization"))
    schemas, top = models_json_schema(models, ref_template=REF_TEMPLATE) if models else ({}, {})
    components: dict[str, Any] = dict(top.get("$defs", {}))
    documented = []
    for spec in specs:
        params_schema = schemas[(spec.params, "validation")]
        if "$ref" in params_schema:
            params_schema = components[params_schema["$ref"].rsplit("/", 1)[-1]]
        result_schema: Mapping[str, Any]
        if spec.result is None:
            result_schema = {}
        elif isinstance(spec.result, type):
            result_schema = schemas[(spec.result, "serialization")]
        else:
            result_schema = spec.result
        method: dict[str, Any] = {
            "name": spec.name,
            "paramStructure": "by-name",
            "params": _params(spec, params_schema),
            "result": {"name": "result", "schema": dict(result_schema)},
        }
        if spec.summary:
            method["summary"] = spec.summary
        description = spec.description
        if spec.websocket_only:
            description = (description + " " if description else "") + "(WebSocket only.)"
        if description:
            method["description"] = description
        if spec.examples:
            method["examples"] = [_example_pairing(spec, e) for e in spec.examples]
        documented.append(method)
    document: dict[str, Any] = {
        "openrpc": OPENRPC_VERSION,
        "info": {"title": title, "version": version},
        "methods": documented,
    }
    if components:
        document["components"] = {"schemas": components}
    return document
