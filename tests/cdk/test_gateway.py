"""The edge gateway: a CloudFront Function per dataset, its rules from the catalogue, one key store."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from lakegate_cdk.config import ConfigError
from lakegate_cdk.gateway import dataset_gateways, function_name

from handler.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from local.edge_function import MAX_CODE_BYTES

from .conftest import Synthesized

ROLE = "Api"


def _functions(env: Synthesized) -> dict[str, dict[str, Any]]:
    """Each CloudFront Function's properties, by name."""
    found = env.template(ROLE).find_resources("AWS::CloudFront::Function").values()
    return {f["Properties"]["Name"]: f["Properties"] for f in found}


def _code(config: object, catalogue: Catalogue, dataset: str) -> str:
    (gateway,) = (g for g in dataset_gateways(config, catalogue) if g.dataset == dataset)  # type: ignore[arg-type]
    return gateway.code


def _inlined_rules(code: str) -> dict[str, Any]:
    match = re.search(r"^const RULES ?= ?(\{.*\});$", code, re.MULTILINE)
    assert match, "the rules line is missing from the deployed code"
    rules: dict[str, Any] = json.loads(match.group(1))
    return rules


def _catalogue(datasets: int, extra_filters: int = 0) -> Catalogue:
    """The shipped catalogue's first dataset, copied `datasets` times under new names."""
    document = yaml.safe_load(DEFAULT_CATALOGUE.read_text(encoding="utf-8"))
    template = document["datasets"][0]
    filters = [{"name": f"p{i}", "column": "year", "type": "integer"} for i in range(extra_filters)]
    document["datasets"] = [
        {**template, "name": f"d{n}", "filters": [*template["filters"], *filters]}
        for n in range(datasets)
    ]
    return Catalogue.model_validate(document)


def test_one_viewer_request_function_per_dataset_on_runtime_2(env: Synthesized) -> None:
    datasets = load_catalogue().datasets
    functions = _functions(env)
    assert set(functions) == {function_name(env.config.env_name, d.name) for d in datasets}
    for function in functions.values():
        assert function["AutoPublish"] is True
        assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


def test_every_function_reads_the_one_key_store(env: Synthesized) -> None:
    env.template(ROLE).resource_count_is("AWS::CloudFront::KeyValueStore", 1)
    store = env.logical_id(ROLE, env.stacks.api.gateway.key_store)
    for function in _functions(env).values():
        assert function["FunctionConfig"]["KeyValueStoreAssociations"] == [
            {"KeyValueStoreARN": {"Fn::GetAtt": [store, "Arn"]}}
        ]
    resource = env.template(ROLE).find_resources("AWS::CloudFront::KeyValueStore")[store]
    # A fixed name: a replacement would fail instead of emptying the store.
    assert resource["Properties"]["Name"] == f"lakegate-{env.config.env_name}-api-keys"
    assert "ImportSource" not in resource["Properties"]  # keys are never in the template


def test_each_function_holds_only_its_own_datasets_rules(env: Synthesized) -> None:
    catalogue = load_catalogue()
    functions = _functions(env)
    for dataset in catalogue.datasets:
        code = functions[function_name(env.config.env_name, dataset.name)]["FunctionCode"]
        assert code == _code(env.config, catalogue, dataset.name)
        rules = _inlined_rules(code)
        assert rules["cors"] == list(env.config.gateway.cors_origins)
        assert set(rules["routes"]) == {dataset.route}
        # cloudfront-js-2.0 imports the KeyValueStore helpers from 'cloudfront'.
        assert re.search(r"^import cf from ?'cloudfront';$", code, re.MULTILINE)


def test_deployed_code_fits_the_function_size_quota(env: Synthesized) -> None:
    for function in _functions(env).values():
        assert len(function["FunctionCode"].encode()) <= MAX_CODE_BYTES == 10_240


def test_require_keys_reaches_the_rules(dev: Synthesized) -> None:
    config = dev.config.model_copy(
        update={"gateway": dev.config.gateway.model_copy(update={"require_keys": True})}
    )
    for gateway in dataset_gateways(config, load_catalogue()):
        rules = _inlined_rules(gateway.code)
        assert {route["access"] for route in rules["routes"].values()} == {"key"}


def test_many_datasets_fit_because_each_has_its_own_function(dev: Synthesized) -> None:
    """Forty datasets would overflow one function's quota; one function each, they fit."""
    gateways = dataset_gateways(dev.config, _catalogue(datasets=40))
    assert len(gateways) == 40
    assert all(len(g.code.encode()) <= MAX_CODE_BYTES for g in gateways)


def test_the_catalogue_may_outgrow_the_old_query_string_cap(dev: Synthesized) -> None:
    """More filters on one route than a cache policy allow list's ten names."""
    catalogue = _catalogue(datasets=1, extra_filters=9)
    assert len(catalogue.query_parameter_names()) > 10
    rules = _inlined_rules(_code(dev.config, catalogue, "d0"))
    assert len(rules["routes"]["/v1/d0"]["params"]) == len(catalogue.query_parameter_names())


def test_a_dataset_over_the_quota_is_a_config_error_naming_it(dev: Synthesized) -> None:
    with pytest.raises(ConfigError, match=r"dataset 'd0'.*quota"):
        dataset_gateways(dev.config, _catalogue(datasets=1, extra_filters=150))


def test_a_function_name_over_cloudfronts_limit_is_a_config_error() -> None:
    assert function_name("dev", "drivers") == "lakegate-dev-gw-drivers"
    with pytest.raises(ConfigError, match="64 characters"):
        function_name("dev", "d" * 60)
