"""The documentation site's OpenAPI reference: the document the function publishes, written
for MkDocs at each build (mkdocs.yml names this file under `hooks:`).

The document is made as `/swagger?format=json` makes it, from the packaged catalogue, by
the same resolver (with no warehouse: the routes only), and written to
docs/reference/openapi.json, where docs/reference/openapi.md renders it (neoteroi's
`[OAD(...)]`) and the site serves it as a file. It is never committed: the catalogue
and handler/openapi.py are its source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handler.catalogue import load_catalogue
from handler.errors import ConfigurationError
from handler.routes import create_app
from handler.unconfigured import Unconfigured

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = REPO_ROOT / "docs" / "reference" / "openapi.json"


def openapi_json() -> str:
    """The OpenAPI document of the packaged catalogue, as the function serves it."""
    catalogue = load_catalogue()
    surface = Unconfigured(ConfigurationError("documentation only")).surface(catalogue)
    return str(create_app(catalogue, surface).get_openapi_json_schema())


def on_pre_build(config: Any, **_: Any) -> None:
    """MkDocs' hook: write the document before the site's files are collected."""
    text = openapi_json()
    if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != text:
        DOCUMENT.write_text(text, encoding="utf-8")
