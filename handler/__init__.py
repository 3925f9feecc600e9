"""The Lambda: lakegate's HTTP API (entry point `handler.app.lambda_handler`)."""

# lakegate's version, declared once: pyproject.toml reads it (`[tool.setuptools.dynamic]`),
# the OpenAPI document publishes it, `lakegate --version` prints it. Here, in the runtime,
# because the Lambda image holds handler/ and cache/ and no installed distribution.
__version__ = "0.1.0"
