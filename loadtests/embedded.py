"""The embedded stack a local run loads, set up for its scenario, and the nginx edge in front.

`local_target(...)` starts the warehouse emulator (300 ms a statement), moto's
DynamoDB/S3 and the Function URL server with the CDK's default reserved concurrency,
configured for the scenario: compressed freshness, a looser invalidation limit, a key
store (so made-up keys are refused) with a key per dashboard user when keys are
required, the statement and miss budgets from the runner's environment. It yields the
Target and stops everything on the way out; the stack's logs go to stack.log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from loadtests.errors import LoadTestError
from loadtests.scenarios import Scenario
from loadtests.target import Target

if TYPE_CHECKING:
    from local.edge import Edge

EMULATOR_LATENCY_MS = 300  # what `lakegate serve` uses: a warm warehouse's small query
LAMBDA_CONTAINERS = 20  # the CDK's default reserved concurrency
MAX_KEYS = 500  # dashboard users beyond this share keys (each key rewrites the store)
# The gateway's budgets pass from the runner's environment to the stack's.
BUDGET_VARIABLES = ("LAKEGATE_STATEMENT_BUDGET_PER_MINUTE", "LAKEGATE_MISS_BUDGETS")

Print = Callable[[str], None]


@contextlib.contextmanager
def local_target(
    spec: Scenario, edge: bool, run_dir: Path, say: Print, *, users: int, require_keys: bool
) -> Iterator[Target]:
    # Imported here: a run against --host needs neither DuckDB nor moto nor nginx.
    import handler.container  # noqa: F401  (creates the "lakegate" logger that _stack_log redirects)

    with (
        _stack_log(run_dir / "stack.log"),
        tempfile.TemporaryDirectory(prefix="lakegate-loadtest-keys-") as keys_dir,
    ):
        yield from _local_stack(spec, edge, run_dir, say, users, require_keys, Path(keys_dir))


def _local_stack(
    spec: Scenario,
    edge: bool,
    run_dir: Path,
    say: Print,
    users: int,
    require_keys: bool,
    keys_dir: Path,
) -> Iterator[Target]:
    from local.emulator import EmulatorConfig
    from local.stack import EmbeddedStack, StackConfig

    notes: list[str] = []
    catalogue_path = _compressed_catalogue(spec, run_dir, notes)
    environment: dict[str, str] = {}
    if spec.invalidations_per_minute is not None:
        environment["LAKEGATE_ADMIN_INVALIDATIONS_PER_MINUTE"] = str(spec.invalidations_per_minute)
        notes.append(
            f"admin invalidations limited to {spec.invalidations_per_minute} a minute "
            "(the stack's default is 3), so the storm is not only 429s"
        )
    api_keys = _gateway(spec, users, require_keys, keys_dir, environment, notes)
    config = StackConfig(
        port=0,
        emulator=EmulatorConfig(port=0, latency_ms=EMULATOR_LATENCY_MS),
        max_containers=LAMBDA_CONTAINERS,
        catalogue_path=catalogue_path,
        environment=environment,
    )
    stack = EmbeddedStack(config)
    try:
        stack.start()
    except OSError as exc:
        stack.stop()
        raise LoadTestError(f"cannot start the embedded stack: {exc}") from exc
    running_edge: Edge | None = None
    try:
        assert stack.emulator is not None and stack.catalogue is not None
        target = Target(
            stack.url,
            local=True,
            warehouse_url=stack.emulator.url,
            admin_token=_admin_token(stack),
            api_keys=api_keys,
            require_keys=require_keys,
            statement_budget=_statement_budget(environment),
            datasets=len(stack.catalogue.datasets),
            admitted=(
                _budget_counter(stack.moto.url, [d.name for d in stack.catalogue.datasets])
                if stack.moto is not None
                else None
            ),
            notes=notes,
        )
        if edge:
            running_edge = _start_edge(spec, stack.url, catalogue_path, environment, target, say)
        yield target
    finally:
        if running_edge is not None:
            running_edge.stop()
        stack.stop()


def _start_edge(
    spec: Scenario,
    origin_url: str,
    catalogue_path: Path | None,
    environment: dict[str, str],
    target: Target,
    say: Print,
) -> Edge | None:
    """nginx in front of the stack, `target` pointed at it; None when nginx is missing."""
    from handler.catalogue import load_catalogue
    from local.edge import Edge, EdgeError, nginx_missing_message, nginx_path
    from local.nginx_config import EdgeConfig

    if nginx_path() is None:
        say(f"lakegate loadtest: {nginx_missing_message()} Running without the edge.")
        target.notes.append("the edge was requested but nginx is not installed: ran without it")
        return None
    catalogue = load_catalogue(catalogue_path) if catalogue_path else None
    gateway = _edge_gateway(EdgeConfig, environment, target.require_keys)
    try:
        running = Edge(EdgeConfig(origin_url=origin_url, catalogue=catalogue, **gateway)).start()
    except EdgeError as exc:
        raise LoadTestError(f"cannot start the edge: {exc}") from exc
    target.url, target.edge = running.url, True
    if spec.operators is not None:
        target.notes.append(
            "invalidations do not purge the local edge (open-source nginx has no "
            "purge): its copies age out by s-maxage, as CloudFront's would without "
            "an invalidation"
        )
    return running


def _compressed_catalogue(spec: Scenario, run_dir: Path, notes: list[str]) -> Path | None:
    """The catalogue with the scenario's ttl_seconds, written to the run directory; None: as is."""
    from handler.catalogue import DEFAULT_CATALOGUE

    if spec.freshness_ttl_s is None:
        return None
    path = run_dir / "catalogue.yaml"
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    for dataset in document["datasets"]:
        original = dataset["freshness"]["ttl_seconds"]
        dataset["freshness"]["ttl_seconds"] = spec.freshness_ttl_s
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    notes.append(
        f"freshness compressed: ttl_seconds {spec.freshness_ttl_s} s instead of the "
        f"catalogue's {original} s, so entries go stale during the run"
    )
    return path


def _gateway(
    spec: Scenario,
    users: int,
    require_keys: bool,
    keys_dir: Path,
    environment: dict[str, str],
    notes: list[str],
) -> tuple[str, ...]:
    """Budgets, the key store and keys into the stack's `environment`; the dashboards' keys."""
    from edge.keys import FileKeyStore, create

    environment.update({k: os.environ[k] for k in BUDGET_VARIABLES if os.environ.get(k)})
    if not (require_keys or spec.busters):
        return ()
    # A key store, even when no key is required: the origin then refuses keys it does not
    # hold (401), as the edge function does, instead of ignoring them. No file yet is an
    # empty store (handler.consumers.KeyFile).
    store = FileKeyStore(keys_dir / "keys.json")
    environment["LAKEGATE_KEYS_FILE"] = str(store.path)
    if not require_keys:
        return ()
    environment["LAKEGATE_REQUIRE_KEYS"] = "1"
    count = min(users, MAX_KEYS)
    keys = tuple(
        create(store, f"loadtest-dashboard-{i + 1}", ("drivers",), "standard")[0]
        for i in range(count)
    )
    notes.append(
        f"API keys required: {count} keys (tier standard) in a temporary key store, one per "
        f"dashboard user{' (shared round-robin beyond that)' if users > count else ''}"
    )
    return keys


def _edge_gateway(
    edge_config: type, environment: dict[str, str], require_keys: bool
) -> dict[str, Any]:
    """The edge function's key settings, the origin's own, for an edge that runs it.

    An EdgeConfig without them (an edge that only caches) is started without them."""
    names = {f.name for f in dataclasses.fields(edge_config)}
    keys_file = environment.get("LAKEGATE_KEYS_FILE")
    gateway: dict[str, Any] = {}
    if "keys_file" in names and keys_file:
        gateway["keys_file"] = Path(keys_file)
    if "require_keys" in names:
        gateway["require_keys"] = require_keys
    return gateway


def _statement_budget(environment: dict[str, str]) -> int:
    """The statements per minute the stack's origin allows a dataset (its own settings)."""
    from handler.settings import GatewaySettings

    return GatewaySettings.model_validate(environment).statement_budget_per_minute


def _budget_counter(
    moto_url: str, datasets: Sequence[str]
) -> Callable[[int], dict[str, dict[str, int]] | None]:
    """Reads the origin's statement counters of every dataset for one epoch minute: the
    consumers' and the roll-ups' (cache.dataset_counters names them), by dataset."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from cache import dataset_counters
    from local.aws import CACHE_TABLE, REGION

    client = boto3.client("dynamodb", endpoint_url=moto_url, region_name=REGION)

    def count(key: str) -> int:
        item = client.get_item(
            TableName=CACHE_TABLE, Key={"pk": {"S": key}}, ConsistentRead=True
        ).get("Item")
        return int(item["n"]["N"]) if item else 0

    def admitted(minute: int) -> dict[str, dict[str, int]] | None:
        by_dataset: dict[str, dict[str, int]] = {}
        for dataset in datasets:
            consumers, rollups = dataset_counters(dataset, minute)
            try:
                spent, fetched = count(consumers), count(rollups)
            except (BotoCoreError, ClientError, KeyError, ValueError):
                return None
            by_dataset[dataset] = {"statements": spent + fetched, "rollups": fetched}
        return by_dataset

    return admitted


def _admin_token(stack: object) -> str | None:
    # Stacks without an admin route have no such attribute, or one that asserts.
    try:
        token = getattr(stack, "admin_token", None)
    except AssertionError:
        return None
    return token if isinstance(token, str) and token else None


@contextlib.contextmanager
def _stack_log(path: Path) -> Iterator[None]:
    """The stack's logs go to the report directory, not over the progress line.

    The handler logs every statement (and warns on every stale-if-error) through
    Powertools' "lakegate" logger, which writes JSON to stdout; its handlers are
    swapped for the file while the run lasts, keeping their JSON formatter. The HTTP
    servers' tracebacks for connections a client dropped go to stderr: that too.
    """
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setLevel(logging.WARNING)
    root, service = logging.getLogger(), logging.getLogger("lakegate")
    stream_handlers = [h for h in service.handlers if type(h) is logging.StreamHandler]
    json_handler = logging.FileHandler(path, encoding="utf-8")
    json_handler.setLevel(logging.WARNING)
    if stream_handlers:
        json_handler.setFormatter(stream_handlers[0].formatter)
    root.addHandler(file_handler)
    for handler in stream_handlers:
        service.removeHandler(handler)
    service.addHandler(json_handler)
    try:
        with path.open("a", encoding="utf-8") as errors, contextlib.redirect_stderr(errors):
            yield
    finally:
        service.removeHandler(json_handler)
        for handler in stream_handlers:
            service.addHandler(handler)
        root.removeHandler(file_handler)
        file_handler.close()
        json_handler.close()
