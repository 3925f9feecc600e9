"""The edge gateway function: one JavaScript source, its rule data generated from the catalogue.

`cdk/edge/gateway.js` is the function CloudFront runs on every data request
(cloudfront-js-2.0, viewer request). What it enforces is not written in JavaScript:
`edge_rules` derives it from each dataset's one parameter declaration
(`Dataset.parameters`, the model the origin parses with and the OpenAPI document
publishes): the routes, who may read them, each query parameter's JSON Schema (type,
bounds, lengths, pattern, enum, default, `x-case-insensitive`) and the sentence of its
400. `function_code` inlines those rules into the source for where it runs:

- "cloudfront": the code the CDK deploys (`cloudfront.FunctionCode.from_inline`);
- "njs": an nginx njs module for the local edge (`lakegate serve --edge`), whose
  KeyValueStore is `local/edge_kvs.js` reading the local key store;
- "node": an ES module for `node --test`, whose KeyValueStore is `globalThis.cloudfront`.

Used by the CDK app and the local edge alike, so both run the same code on the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from handler.catalogue import Catalogue, Dataset
from local.js_compact import compact

SOURCE = Path(__file__).resolve().parents[1] / "cdk" / "edge" / "gateway.js"
# CloudFront Functions' quota on a function's code (cloudfront-limits.html, "Quotas on
# CloudFront Functions": maximum function size 10 KB).
MAX_CODE_BYTES = 10_240

Target = Literal["cloudfront", "njs", "node"]

# handler.parameters reads each integer from one strict spelling, which JSON Schema cannot
# say: filters `[+-]?[0-9]{1,18}` (the function's default), the page parameters unsigned
# digits only. tests/edge/test_gateway.py proves the two agree with the origin's parser.
_PAGE_SPELLING = "^[0-9]{1,9}$"
_PAGE_PARAMETERS = ("limit", "offset")
# Beyond 2**53 a JSON number reaches JavaScript rounded: such bounds go as decimal text.
_EXACT_IN_JAVASCRIPT = 2**53

_RULES_LINE = "const RULES = {}; // generated: local/edge_function.py inlines the rules here"
_CLOUDFRONT_IMPORT = "import cf from 'cloudfront';"
_IMPORTS: dict[Target, str] = {
    "cloudfront": _CLOUDFRONT_IMPORT,
    "njs": "import cf from 'edge_kvs.js';",
    "node": "const cf = globalThis.cloudfront;",
}
_EXPORTS: dict[Target, str] = {
    "cloudfront": "",
    "njs": "\nexport default { handler };\n",
    "node": "\nexport { handler, RULES };\n",
}


class EdgeFunctionError(Exception):
    """The rules cannot be built, or the code would not fit CloudFront's quota."""


def edge_rules(
    catalogue: Catalogue,
    *,
    require_keys: bool = False,
    cors_origins: Sequence[str] = (),
    datasets: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What the function enforces, per route: access and every parameter's schema and hint.

    `datasets` picks the routes (all by default): CloudFront runs one function per
    dataset, each with its own rules, so the quota bounds a dataset, not the catalogue."""
    routes: dict[str, Any] = {}
    schemas: list[dict[str, Any]] = []
    chosen = catalogue.datasets if datasets is None else [_dataset(catalogue, n) for n in datasets]
    for dataset in chosen:
        declared = dataset.parameters
        params = {}
        for name, schema in declared.json_schema().items():
            hint = declared.hints[name]
            rule = _rule(schema, schemas, hint)
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


def _dataset(catalogue: Catalogue, name: str) -> Dataset:
    dataset = catalogue.get(name)
    if dataset is None:
        raise EdgeFunctionError(f"no dataset {name!r} in the catalogue")
    return dataset


def _exact(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _EXACT_IN_JAVASCRIPT:
        return str(value)
    return value


def function_code(rules: dict[str, Any], target: Target = "cloudfront") -> str:
    """The function's code with `rules` inlined, for `target`."""
    source = SOURCE.read_text(encoding="utf-8")
    for marker in (_RULES_LINE, _CLOUDFRONT_IMPORT):
        if source.count(marker) != 1:
            raise EdgeFunctionError(f"{SOURCE} must hold exactly one line {marker!r}")
    inlined = json.dumps(rules, separators=(",", ":"), ensure_ascii=True)
    code = source.replace(_RULES_LINE, f"const RULES = {inlined};")
    code = compact(code.replace(_CLOUDFRONT_IMPORT, _IMPORTS[target])) + _EXPORTS[target]
    if target == "cloudfront" and len(code.encode()) > MAX_CODE_BYTES:
        # Each dataset has a function of its own: only its own declaration can shrink.
        raise EdgeFunctionError(
            f"the edge function of {', '.join(rules['routes']) or 'no route'} is "
            f"{len(code.encode())} bytes with its rules, over CloudFront's "
            f"{MAX_CODE_BYTES}-byte quota: declare fewer filters or operators, shorter "
            "patterns or fewer sortable columns, or split the dataset in two"
        )
    return code
