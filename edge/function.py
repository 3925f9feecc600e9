"""The edge gateway function's code: one JavaScript source, the same for every catalogue.

`edge/gateway.js` is the function CloudFront runs on every data request
(cloudfront-js-2.0, viewer request). It is a rule interpreter: the rules it applies are
data in its KeyValueStore (edge.rules decides them, edge.store lays them
out), and the code only knows which version of them to read, its tag. `function_code`
writes that tag in, with the CORS headers its own answers carry (handler.cors, the
origin's declaration), and adapts the source to where it runs:

- "cloudfront": the code the CDK deploys (`cloudfront.FunctionCode.from_inline`);
- "njs": an nginx njs module for the local edge (`lakegate serve --edge`), whose
  KeyValueStore is `local/edge_kvs.js` reading the local key store file;
- "node": an ES module for `node --test` and the bench, whose KeyValueStore is
  `globalThis.cloudfront` (the tests install local/edge_kvs.js there, on the same file).

Whatever the catalogue holds, the code is the same size: the tag has a fixed length.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from edge.js_compact import compact
from handler import cors

SOURCE = Path(__file__).resolve().with_name("gateway.js")
# CloudFront Functions' quota on a function's code (cloudfront-limits.html, "Quotas on
# CloudFront Functions": maximum function size 10 KB, not adjustable).
MAX_CODE_BYTES = 10_240

Target = Literal["cloudfront", "njs", "node"]

_TAG_LINE = "const TAG = ''; // generated: edge/function.py writes the rules' tag here"
_PREFLIGHT_LINE = "const PREFLIGHT = {}; // generated: edge/function.py writes handler/cors.py here"
_EXPOSE_LINE = "const EXPOSE = ''; // generated: edge/function.py writes handler/cors.py here"
_TAG = re.compile(r"[0-9]{1,9}\.[0-9a-f]{12}")
_CLOUDFRONT_IMPORT = "import cf from 'cloudfront';"
_IMPORTS: dict[Target, str] = {
    "cloudfront": _CLOUDFRONT_IMPORT,
    "njs": "import cf from 'edge_kvs.js';",
    "node": "const cf = globalThis.cloudfront;",
}
_EXPORTS: dict[Target, str] = {
    "cloudfront": "",
    "njs": "\nexport default { handler };\n",
    "node": "\nexport { handler, TAG };\n",
}


class EdgeFunctionError(Exception):
    """The code cannot be written, or would not fit CloudFront's quota."""


def function_code(tag: str, target: Target = "cloudfront") -> str:
    """The function's code reading the rules of `tag` (edge.store), for `target`."""
    if not _TAG.fullmatch(tag):
        raise EdgeFunctionError(f"{tag!r} is not a rules tag (<version>.<12 hex digits>)")
    source = SOURCE.read_text(encoding="utf-8")
    for marker in (_TAG_LINE, _PREFLIGHT_LINE, _EXPOSE_LINE, _CLOUDFRONT_IMPORT):
        if source.count(marker) != 1:
            raise EdgeFunctionError(f"{SOURCE} must hold exactly one line {marker!r}")
    code = source.replace(_TAG_LINE, f"const TAG = '{tag}';")
    code = code.replace(_PREFLIGHT_LINE, f"const PREFLIGHT = {json.dumps(_preflight())};")
    exposed = json.dumps(", ".join(cors.EXPOSE_HEADERS))
    code = code.replace(_EXPOSE_LINE, f"const EXPOSE = {exposed};")
    code = compact(code.replace(_CLOUDFRONT_IMPORT, _IMPORTS[target])) + _EXPORTS[target]
    if target == "cloudfront" and len(code.encode()) > MAX_CODE_BYTES:
        # Only gateway.js itself can grow the code: no catalogue change reaches it.
        raise EdgeFunctionError(
            f"the edge function is {len(code.encode())} bytes, over CloudFront's "
            f"{MAX_CODE_BYTES}-byte quota: {SOURCE.name} itself must shrink"
        )
    return code


def _preflight() -> dict[str, str]:
    """A preflight's answer beside the allowed origin: handler.cors, as the origin says it."""
    return {
        "access-control-allow-methods": ", ".join(cors.METHODS),
        "access-control-allow-headers": ", ".join(cors.ALLOW_HEADERS),
        "access-control-max-age": str(cors.MAX_AGE_SECONDS),
    }
