"""What the handler's tests share: every log line, captured at DEBUG."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

import handler.container  # noqa: F401  (creates and configures the lakegate loggers)


@pytest.fixture
def every_log_line(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """All at DEBUG, as POWERTOOLS_DEBUG / POWERTOOLS_LOG_LEVEL=DEBUG would have it: Python's
    loggers (urllib3, Powertools' internals) through caplog, and lakegate's Powertools
    logger, which does not propagate, through a handler of its own with its JSON format."""
    caplog.set_level(logging.DEBUG)
    lakegate = logging.getLogger("lakegate")
    captured = io.StringIO()
    stream = logging.StreamHandler(captured)
    stream.setFormatter(lakegate.handlers[0].formatter)
    family = [lakegate] + [  # Powertools gives each child logger a level of its own
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("lakegate.")
    ]
    previous = [logger.level for logger in family]
    lakegate.addHandler(stream)
    for logger in family:
        logger.setLevel(logging.DEBUG)
    yield captured
    lakegate.removeHandler(stream)
    for logger, level in zip(family, previous, strict=True):
        logger.setLevel(level)
