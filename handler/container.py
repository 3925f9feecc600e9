"""The composition root: the one place a container's collaborators are built and wired.

`new_container` builds a Lambda container's handler: the resolver with its routes,
each route handed exactly what it needs. `wire` builds the long-lived collaborators
once (settings → HTTP session and warehouse client, DynamoDB store and result cache,
admin clients); a container reuses them for every warm invocation. That reuse is
lakegate's only deliberate module-level state (`handler.app.lambda_handler`):
rebuilding HTTP sessions (TLS handshakes), boto3 clients or re-reading secrets per
request would cost every request tens of milliseconds.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.lambda_context import build_lambda_context_model
from aws_lambda_powertools.utilities.typing import LambdaContext

from cache import (
    Budgets,
    CacheStore,
    DynamoBudget,
    DynamoCacheStore,
    FallbackBudget,
    FlightPolicy,
    Held,
    MemoryBudget,
    Recorder,
    ResultCache,
    Rollups,
    UncachedResults,
)
from handler.admin.auth import TokenVerifier, secrets_manager_fetch
from handler.admin.edge import EdgeInvalidator, ssm_distribution_id
from handler.admin.routes import Admin
from handler.catalogue import Catalogue
from handler.consumers import Consumers, EdgeAsserted, KeyFile
from handler.errors import ConfigurationError
from handler.observability import TracedCacheStore, record_response, trace_invocations
from handler.refresh import Invoker, LambdaInvoker, RefreshOrder
from handler.routes import Surface, create_app
from handler.serving import DatasetServer, Gate
from handler.settings import (
    AdminSettings,
    CacheSettings,
    Settings,
    WarehouseSettings,
    load_settings,
)
from handler.unconfigured import Unconfigured

if TYPE_CHECKING:
    from handler.warehouse import WarehouseClient

T = TypeVar("T")
LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

logger = Logger(service="lakegate")


class Wired(Protocol):
    """A container's collaborators (Wiring), or the failed configuration in their place
    (handler.unconfigured.Unconfigured): either gives the routes what they serve."""

    def surface(self, catalogue: Catalogue) -> Surface: ...

    def prepare(self) -> None:
        """Build now what a container's first miss would build (handler.snapstart)."""


@dataclass(frozen=True)
class Wiring:
    """A container's long-lived collaborators."""

    settings: Settings
    warehouse: Callable[[], WarehouseClient]  # built for the container's first statement
    results: ResultCache | UncachedResults
    admin: Admin | None  # None: no admin token secret, or no cache to invalidate
    gate: Gate
    refresher: Invoker | None = None  # None: stale entries are refreshed in line
    rollups: Rollups | None = None  # None: roll-ups are off (LAKEGATE_ROLLUPS=0)

    def surface(self, catalogue: Catalogue) -> Surface:
        """One server per dataset route, each handed exactly what it needs; the admin routes'."""
        servers = {
            dataset.route: DatasetServer(
                dataset,
                catalogue.version,
                self.warehouse,
                self.results,
                self.settings.warehouse,
                self.gate,
                self.refresher,
                self.settings.gateway.inline_response_max_bytes,
                self.rollups,
            )
            for dataset in catalogue.datasets
        }
        admin = self.admin
        return Surface(
            servers, lambda: admin, self.settings.gateway.cors_origins, self.gate.require_keys
        )

    def prepare(self) -> None:
        self.warehouse()


def new_container(catalogue: Catalogue, wired: Wired, recorder: Recorder) -> LambdaHandler:
    """One Lambda container's handler. With broken settings (`wired` is Unconfigured) it
    still starts: /healthz and /swagger answer, and every data or admin request is a 503
    naming no secret.

    The local Function URL server calls this once per simulated container (a Powertools
    resolver keeps the current event on itself and serves one at a time), sharing one
    Wiring: boto3 clients and the HTTP session are thread-safe.
    """
    surface = wired.surface(catalogue)
    app = create_app(catalogue, surface)
    invocations = itertools.count()

    @trace_invocations
    def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # The invocation's keys (function_request_id, cold_start, ...) on every log line it
        # writes, kept per thread: Powertools' inject_lambda_context keeps them on the
        # logger, one per process, and the local stand-in runs its containers as threads
        # of one process, where each would stamp its request id on the others' lines.
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(
            cold_start=next(invocations) == 0, **build_lambda_context_model(context).__dict__
        )
        try:
            order = RefreshOrder.from_event(event)
            if order is None:
                started = time.perf_counter()
                response = app.resolve(event, context)
                elapsed_ms = (time.perf_counter() - started) * 1000
                record_response(recorder, response, elapsed_ms, app.served)
                return response
            server = surface.datasets.get(order.route)
            outcome = (
                server.refresh(order, context.get_remaining_time_in_millis()) if server else None
            )
            return {"refreshed": outcome}
        finally:
            recorder.flush()
            logger.thread_safe_clear_keys()

    return handle


def wire_from_environment(recorder: Recorder) -> Wired:
    """Wiring from the environment's settings; Unconfigured, holding the reason, without."""
    try:
        return wire(load_settings(), recorder)
    except ConfigurationError as exc:
        logger.error("configuration error", extra={"detail": str(exc)})
        return Unconfigured(exc)


def wire(settings: Settings, recorder: Recorder, invoker: Invoker | None = None) -> Wiring:
    """The collaborators `settings` call for. `invoker` starts asynchronous refreshes (the
    local Function URL server passes its own); in Lambda it is the Lambda API."""
    connections = settings.pools.warehouse_connections
    warehouse = _once(lambda: build_warehouse(settings.warehouse, connections))
    gateway = settings.gateway
    consumers: Consumers = KeyFile(gateway.keys_file) if gateway.keys_file else EdgeAsserted()
    # Decoded roll-ups this container holds between invocations: deliberate per-container
    # state, like the clients (cache/rollups.py).
    held = Held(settings.rollups.memory_bytes)
    if settings.cache is None:
        gate = Gate(consumers, gateway.require_keys, None)
        rollups = Rollups(None, recorder, held) if settings.rollups.enabled else None
        return Wiring(settings, warehouse, UncachedResults(recorder), None, gate, rollups=rollups)
    store, dynamodb = build_store(settings.cache, settings.pools.aws_connections)
    flight = FlightPolicy(
        lease_ms=int(settings.cache.lease_seconds * 1000),
        error_hold_ms=int(settings.cache.error_hold_seconds * 1000),
        stale_refresh_s=settings.cache.stale_refresh_seconds,
    )
    budgets = Budgets(
        gateway.statement_budget_per_minute,
        gateway.miss_budgets,
        fair_shares=gateway.fair_shares,
        rollup_reserve=gateway.rollup_reserve_per_minute,
    )
    statements = FallbackBudget(
        DynamoBudget(dynamodb, settings.cache.table, budgets),
        MemoryBudget(budgets.scaled(gateway.max_containers)),
    )
    gate = Gate(consumers, gateway.require_keys, statements)
    admin = build_admin(settings.admin, store) if settings.admin is not None else None
    cache = settings.cache
    if invoker is None and cache.async_refresh and cache.function_name:
        invoker = LambdaInvoker(cache.function_name, cache.function_version, cache.region)
    refresher = invoker if cache.async_refresh else None
    results = ResultCache(store, recorder, flight)
    rollups = Rollups(store, recorder, held, flight) if settings.rollups.enabled else None
    return Wiring(settings, warehouse, results, admin, gate, refresher, rollups)


def build_warehouse(warehouse: WarehouseSettings, connections: int) -> WarehouseClient:
    """The warehouse client and its HTTP session. Built for a container's first statement,
    not with the container: a hit never needs it (nor the ~15 ms of importing it)."""
    import requests

    from handler.warehouse import WarehouseClient, token_provider
    from handler.warehouse.watchdog import WatchedAdapter

    session = requests.Session()
    # Retries are the client's job (inside its deadline), not urllib3's; its connections
    # can be cut when an answer outlives the deadline (handler.warehouse.watchdog). Pools
    # for four hosts: the workspace and its result storage, with room to spare.
    adapter = WatchedAdapter(pool_connections=4, pool_maxsize=connections, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return WarehouseClient(warehouse, token_provider(warehouse, session), session)


def build_store(cache: CacheSettings, connections: int) -> tuple[DynamoCacheStore, Any]:
    """The cache store, and its DynamoDB client (the statement budgets count in its table)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=cache.connect_timeout_seconds,
        read_timeout=cache.read_timeout_seconds,
        retries={"max_attempts": cache.max_attempts, "mode": "standard"},
        tcp_keepalive=True,
        max_pool_connections=connections,  # handler.settings.PoolSettings says how many
    )
    session = boto3.session.Session(region_name=cache.region)
    # Built now, in the init phase (and in a SnapStart snapshot): every hit needs it.
    dynamodb = session.client("dynamodb", endpoint_url=cache.endpoint_url, config=config)
    # Signature version 4 for the presigned URLs of answers too large to send in line.
    s3_config = config.merge(Config(signature_version="s3v4"))

    def s3() -> Any:
        # Built on the first overflowing or by-reference answer (once: _once holds a
        # lock): most containers serve only bodies held in their items, and the client
        # would cost each cold start ~40 ms.
        return session.client("s3", endpoint_url=cache.endpoint_url, config=s3_config)

    # Its lookups are X-Ray subsegments in Lambda (a no-op elsewhere).
    store = TracedCacheStore(
        dynamodb,
        cache.table,
        _once(s3) if cache.bucket else None,
        cache.bucket,
        overflow_bytes=cache.overflow_bytes,
    )
    return store, dynamodb


def build_admin(admin: AdminSettings, store: CacheStore) -> Admin:
    """The admin collaborators. Their three boto3 clients are created lazily: a data
    request's cold start should not pay for Secrets Manager, SSM and CloudFront."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"}
    )
    session_lock = threading.Lock()

    def client(service: str) -> Callable[[], Any]:
        def build() -> Any:
            # Creating boto3 sessions and clients is not thread-safe; using the clients is.
            with session_lock:
                session = boto3.session.Session(region_name=admin.region)
                return session.client(
                    service,  # type: ignore[call-overload]
                    endpoint_url=admin.endpoint_url,
                    config=config,
                )

        return _once(build)

    def ssm_provider() -> Any:
        from aws_lambda_powertools.utilities.parameters import SSMProvider

        return SSMProvider(boto3_client=ssm())

    ssm = client("ssm")
    tokens = TokenVerifier(
        secrets_manager_fetch(client("secretsmanager"), admin.token_secret_arn),
        admin.token_cache_seconds,
    )
    edge = EdgeInvalidator(
        client("cloudfront"),
        ssm_distribution_id(_once(ssm_provider), admin.distribution_id_parameter),
    )
    return Admin(admin, tokens, edge, store)


def _once(factory: Callable[[], T]) -> Callable[[], T]:
    """`factory()` on first call, the same object afterwards (thread-safe)."""
    lock = threading.Lock()
    made: list[T] = []

    def get() -> T:
        if not made:
            with lock:
                if not made:
                    made.append(factory())
        return made[0]

    return get
