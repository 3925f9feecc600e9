"""JsonText: the polars dtype of ARRAY, MAP and STRUCT values kept as validated JSON text."""

from __future__ import annotations

import polars as pl

_JSON_TEXT = "lakegate.json_text"


class JsonText(pl.BaseExtension):
    """ARRAY, MAP or STRUCT values as validated JSON text, embedded raw by `to_json`."""

    # polars 2.1 calls extension types unstable; the tests pin what is relied on here:
    # Series.ext.to / Expr.ext.storage and an IPC round trip keeping the dtype.

    def __init__(self) -> None:
        super().__init__(_JSON_TEXT, pl.String)


# Registered so that a frame written to IPC or Parquet reads back with the same dtype.
if pl.get_extension_type(_JSON_TEXT) is None:
    pl.register_extension_type(_JSON_TEXT, JsonText)
