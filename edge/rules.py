"""What the edge gateway enforces, derived from the catalogue: its rules, as data.

`edge/gateway.js` is a rule interpreter; what it enforces is not written in
JavaScript. `edge_rules` derives it from each dataset's one parameter declaration
(`parameters_of(dataset)`, the model the origin parses with and the OpenAPI document
publishes): the routes, who may read them, each query parameter's JSON Schema (type,
bounds, lengths, pattern, enum, default, `x-case-insensitive`) and the sentence of its
400. `edge.store` lays these rules out as KeyValueStore entries, where the function
reads them; this module only decides what they say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handler.catalogue import Catalogue
from handler.parameters import parameters_of

# handler.parameters reads each integer from one strict spelling, which JSON Schema cannot
# say: filters `[+-]?[0-9]{1,18}` (the function's default), the page parameters unsigned
# digits only. tests/edge/test_gateway.py proves the two agree with the origin's parser.
_PAGE_SPELLING = "^[0-9]{1,9}$"
_PAGE_PARAMETERS = ("limit", "offset")
# Beyond 2**53 a JSON number reaches JavaScript rounded: such bounds go as decimal text.
_EXACT_IN_JAVASCRIPT = 2**53


def edge_rules(
    catalogue: Catalogue, *, require_keys: bool = False, cors_origins: Sequence[str] = ()
) -> dict[str, Any]:
    """What the function enforces, per route: access and every parameter's schema and hint.

    {"routes": {route: {"dataset", "access", "params": {name: schema index}}},
     "schemas": [schema, …], "cors": [origin, …]}: parameters (and list items) of one
    schema share it; a route's params are in the origin's declaration order."""
    routes: dict[str, Any] = {}
    schemas: list[dict[str, Any]] = []
    for dataset in catalogue.datasets:
        declared = parameters_of(dataset)
        params = {}
        for name, schema in declared.json_schema().items():
            rule = _rule(schema, schemas, declared.hints[name])
            if name in _PAGE_PARAMETERS:
                rule["x-spelling"] = _PAGE_SPELLING
            params[name] = _shared(rule, schemas)
        routes[dataset.route] = {
            "dataset": dataset.name,
            "access": "key" if require_keys else dataset.access,
            "params": params,
        }
    return {"routes": routes, "schemas": schemas, "cors": list(cors_origins)}


def parameter_rule(rules: dict[str, Any], route: str, name: str) -> dict[str, Any]:
    """One parameter's rule with its references resolved, as the function sees it."""
    schemas = rules["schemas"]
    rule = dict(schemas[rules["routes"][route]["params"][name]])
    rule.setdefault("hint", listed_hint(rule, schemas))
    if "items" in rule:
        rule["items"] = schemas[rule["items"]]
    return rule


def _rule(schema: dict[str, Any], schemas: list[dict[str, Any]], hint: str) -> dict[str, Any]:
    """A parameter's JSON Schema and hint as the function reads them, made small.

    No prose; a single allowed value as an enum; a minimum length or count of 1 left
    implicit (the function's default: handler.parameters never allows an empty value or
    list); a list's items shared with the parameter of the same schema, and its hint left
    out where the function composes the same one from its items (`listed_hint`)."""
    rule: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description" or (key in ("minLength", "minItems") and value == 1):
            continue
        if key == "const":
            rule["enum"] = [value]
        elif key == "items":
            item_hint = hint.partition("; each ")[2]
            rule["items"] = _shared(_rule(value, schemas, item_hint), schemas)
        else:
            rule[key] = _exact(value)
    if hint and hint != listed_hint(rule, schemas):
        rule["hint"] = hint
    return rule


def listed_hint(rule: dict[str, Any], schemas: list[dict[str, Any]]) -> str | None:
    """The hint gateway.js composes for a list (keep the two in step), or None."""
    if rule.get("type") != "array":
        return None
    items = schemas[rule["items"]]
    if "enum" in items:
        return f"must be a comma-separated list of: {', '.join(items['enum'])}"
    if "maxItems" in rule and "hint" in items:
        return f"must be a comma-separated list of up to {rule['maxItems']} values; each {items['hint']}"
    return None


def _shared(rule: dict[str, Any], schemas: list[dict[str, Any]]) -> int:
    """The index of `rule` in `schemas`, added once: `year`, `year[gte]`… share one rule."""
    if rule not in schemas:
        schemas.append(rule)
    return schemas.index(rule)


def _exact(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _EXACT_IN_JAVASCRIPT:
        return str(value)
    return value
