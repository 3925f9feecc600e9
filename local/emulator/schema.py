"""Column types of the JSON_ARRAY format: Databricks' names for DuckDB's types.

Databricks describes columns with Spark type names (type_name, type_text and, for
DECIMAL and INTERVAL, their qualifiers); DuckDB reports its own. Anything without a
Databricks counterpart (UUID, TIME, BIT, ENUM...) is a STRING column.
"""

from __future__ import annotations

import re
from typing import Any

from duckdb.sqltypes import DuckDBPyType

YEAR_MONTH = "YEAR TO MONTH"
DAY_TIME = "DAY TO SECOND"
_NESTED = frozenset({"list", "array", "map", "struct"})
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# DuckDB type id -> (Databricks type_name, type_text). HUGEINT maps to LONG because
# DuckDB widens SUM(BIGINT) to HUGEINT where Databricks keeps BIGINT.
_SIMPLE: dict[str, tuple[str, str]] = {
    "boolean": ("BOOLEAN", "BOOLEAN"),
    "tinyint": ("BYTE", "TINYINT"),
    "smallint": ("SHORT", "SMALLINT"),
    "integer": ("INT", "INT"),
    "bigint": ("LONG", "BIGINT"),
    "hugeint": ("LONG", "BIGINT"),
    "utinyint": ("SHORT", "SMALLINT"),
    "usmallint": ("INT", "INT"),
    "uinteger": ("LONG", "BIGINT"),
    "float": ("FLOAT", "FLOAT"),
    "double": ("DOUBLE", "DOUBLE"),
    "varchar": ("STRING", "STRING"),
    "date": ("DATE", "DATE"),
    "timestamp with time zone": ("TIMESTAMP", "TIMESTAMP"),
    "timestamp": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "timestamp_s": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "timestamp_ms": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "timestamp_ns": ("TIMESTAMP_NTZ", "TIMESTAMP_NTZ"),
    "blob": ("BINARY", "BINARY"),
    "interval": ("INTERVAL", "INTERVAL DAY TO SECOND"),
    "null": ("NULL", "VOID"),
}
_WIDE_UNSIGNED = {"ubigint": 20, "uhugeint": 39}


def type_of(t: DuckDBPyType) -> tuple[str, str]:
    """(type_name, type_text) of a DuckDB type; anything unknown is reported as STRING."""
    kind = t.id
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind in _WIDE_UNSIGNED:
        return "DECIMAL", f"DECIMAL({min(_WIDE_UNSIGNED[kind], 38)},0)"
    if kind == "decimal":
        precision, scale = re.findall(r"\d+", str(t))  # str(t) is e.g. "DECIMAL(10,2)"
        return "DECIMAL", f"DECIMAL({precision},{scale})"
    if kind not in _NESTED:  # asking a plain type for children raises
        return "STRING", "STRING"
    children = _nested(t)
    if kind in ("list", "array"):
        return "ARRAY", f"ARRAY<{type_of(children[0][1])[1]}>"
    if kind == "map":
        return "MAP", f"MAP<{type_of(children[0][1])[1]}, {type_of(children[1][1])[1]}>"
    if kind == "struct":
        fields = ", ".join(f"{_field_name(n)}: {type_of(c)[1]}" for n, c in children)
        return "STRUCT", f"STRUCT<{fields}>"
    return "STRING", "STRING"


def column_info(
    name: str, t: DuckDBPyType, position: int, qualifier: str | None = None
) -> dict[str, Any]:
    """One manifest.schema.columns entry, field names as in the SDK's ColumnInfo."""
    type_name, type_text = type_of(t)
    if type_name == "INTERVAL":
        qualifier = qualifier or DAY_TIME
        type_text = f"INTERVAL {qualifier}"
    column: dict[str, Any] = {"name": name, "type_text": type_text, "type_name": type_name}
    if type_name == "DECIMAL":
        precision, scale = re.findall(r"\d+", type_text)
        column["type_precision"], column["type_scale"] = int(precision), int(scale)
    if type_name == "INTERVAL":
        column["type_interval_type"] = qualifier
    column["position"] = position
    return column


def interval_qualifiers(types: list[DuckDBPyType], rows: list[tuple[Any, ...]]) -> dict[int, str]:
    """YEAR_MONTH or DAY_TIME for each INTERVAL column, from its {months, days, micros} values."""
    kinds: dict[int, str] = {}
    for i, t in enumerate(types):
        if t.id != "interval":
            continue
        parts = [row[i] for row in rows if isinstance(row[i], dict)]
        year_month = any(p["months"] for p in parts) and not any(
            p["days"] or p["micros"] for p in parts
        )
        kinds[i] = YEAR_MONTH if year_month else DAY_TIME
    return kinds


def _nested(t: DuckDBPyType) -> list[tuple[str, DuckDBPyType]]:
    """Element, key/value or field types (children also lists sizes and enum values)."""
    return [(name, child) for name, child in t.children if isinstance(child, DuckDBPyType)]


def _field_name(name: str) -> str:
    # Spark quotes struct field names only when they are not plain identifiers.
    return name if _PLAIN_NAME.match(name) else "`" + name.replace("`", "``") + "`"
