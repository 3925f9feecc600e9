"""The operator's command line, `lakegate` (lakegate.cli:main): admin, keys, serve, loadtest.

`admin` and `keys` need the runtime alone; `serve` (the embedded stack, local/) and
`loadtest` (loadtests/, run as `python -m loadtests`) are reached only when asked for,
so nothing of either is imported to parse a command line.
"""
