"""The edge gateway: the CloudFront Function, its rules from the catalogue, its key store."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from lakegate_cdk.config import ConfigError
from lakegate_cdk.gateway import gateway_code

from handler.catalogue import DEFAULT_CATALOGUE, Catalogue, load_catalogue
from local.edge_function import MAX_CODE_BYTES

from .conftest import Synthesized

ROLE = "Api"


def _function(env: Synthesized) -> dict:
    (function,) = env.template(ROLE).find_resources("AWS::CloudFront::Function").values()
    return function["Properties"]


def _inlined_rules(code: str) -> dict:
    match = re.search(r"^const RULES = (\{.*\});$", code, re.MULTILINE)
    assert match, "the rules line is missing from the deployed code"
    return json.loads(match.group(1))


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


def test_one_viewer_request_function_on_runtime_2(env: Synthesized) -> None:
    env.template(ROLE).resource_count_is("AWS::CloudFront::Function", 1)
    function = _function(env)
    assert function["Name"] == f"lakegate-{env.config.env_name}-gateway"
    assert function["AutoPublish"] is True
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


def test_function_reads_the_key_store(env: Synthesized) -> None:
    env.template(ROLE).resource_count_is("AWS::CloudFront::KeyValueStore", 1)
    store = env.logical_id(ROLE, env.stacks.api.gateway.key_store)
    assert _function(env)["FunctionConfig"]["KeyValueStoreAssociations"] == [
        {"KeyValueStoreARN": {"Fn::GetAtt": [store, "Arn"]}}
    ]
    resource = env.template(ROLE).find_resources("AWS::CloudFront::KeyValueStore")[store]
    # A fixed name: a replacement would fail instead of emptying the store.
    assert resource["Properties"]["Name"] == f"lakegate-{env.config.env_name}-api-keys"
    assert "ImportSource" not in resource["Properties"]  # keys are never in the template


def test_deployed_code_is_the_catalogue_rules_for_this_environment(env: Synthesized) -> None:
    code = _function(env)["FunctionCode"]
    assert code == gateway_code(env.config, load_catalogue())
    rules = _inlined_rules(code)
    assert rules["cors"] == list(env.config.gateway.cors_origins)
    assert set(rules["routes"]) == {d.route for d in load_catalogue().datasets}
    # cloudfront-js-2.0 imports the KeyValueStore helpers from 'cloudfront'.
    assert "import cf from 'cloudfront';" in code


def test_deployed_code_fits_the_function_size_quota(env: Synthesized) -> None:
    assert len(_function(env)["FunctionCode"].encode()) <= MAX_CODE_BYTES == 10_240


def test_require_keys_reaches_the_rules(dev: Synthesized) -> None:
    config = dev.config.model_copy(
        update={"gateway": dev.config.gateway.model_copy(update={"require_keys": True})}
    )
    rules = _inlined_rules(gateway_code(config, load_catalogue()))
    assert {route["access"] for route in rules["routes"].values()} == {"key"}


def test_the_catalogue_may_outgrow_the_old_query_string_cap(dev: Synthesized) -> None:
    """Twelve filters on one route: more than a cache policy allow list's ten names."""
    catalogue = _catalogue(datasets=1, extra_filters=12)
    assert len(catalogue.query_parameter_names()) > 10
    rules = _inlined_rules(gateway_code(dev.config, catalogue))
    assert len(rules["routes"]["/v1/d0"]["params"]) == len(catalogue.query_parameter_names())


def test_rules_over_the_quota_are_a_config_error(dev: Synthesized) -> None:
    with pytest.raises(ConfigError, match="quota"):
        gateway_code(dev.config, _catalogue(datasets=40))
