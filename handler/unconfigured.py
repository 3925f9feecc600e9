"""A container whose configuration failed: 503 `not_configured` on every data and admin route.

The composition root (handler.container) builds it once, in place of the collaborators
the settings could not give, so a broken deploy still starts: /healthz and /swagger
answer from the catalogue alone, and every other route raises the one
ConfigurationError, which handler.responses answers 503 naming no secret. A refresh
order finds nothing to refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent

from handler.catalogue import Catalogue
from handler.errors import ConfigurationError
from handler.refresh import RefreshOrder
from handler.routes import Surface


@dataclass(frozen=True)
class Unconfigured:
    """Every dataset route's server, and the admin routes' collaborators, while unconfigured."""

    error: ConfigurationError

    def surface(self, catalogue: Catalogue) -> Surface:
        """What the routes serve: this, on every route."""
        return Surface({d.route: self for d in catalogue.datasets}, self.admin)

    def serve(self, event: LambdaFunctionUrlEvent, remaining_ms: int) -> NoReturn:
        raise self.error

    def refresh(self, order: RefreshOrder, remaining_ms: int) -> None:
        return None

    def admin(self) -> NoReturn:
        raise self.error

    def prepare(self) -> None:
        """Nothing to build: no request will reach a collaborator."""
