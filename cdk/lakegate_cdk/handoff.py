"""The cross-region hand-off: SSM parameters with stable names, written by the producing
stack into the consuming stack's region and read there at deploy.

    EdgeSecurity (us-east-1) ── web ACL ARN, certificate ARN ──► /lakegate/<env>/handoff/… (API region)
    Api (API region)         ── distribution id ───────────────► /lakegate/<env>/handoff/… (us-east-1)

Why not CDK's `cross_region_references`: its export writer, run under Node against a
fake SSM client, made no SSM call when a referenced value changed (a new web ACL or
certificate would leave the API stack on the old ARN) and deleted exports still in
use. Here each value is one `AwsCustomResource` whose Create and Update are the same
`PutParameter` (Overwrite) with the value in its properties: a changed value changes
the properties, so CloudFormation runs the Update, so SSM gets the new value. It never
deletes: a parameter some deployed stack may still read is only ever overwritten
(tearing an environment down leaves these few free standard parameters behind).

The reader is a CloudFormation parameter of type `AWS::SSM::Parameter::Value<String>`
defaulting to the stable name: CloudFormation resolves it on every deploy of the
consuming stack, and the CDK CLI never skips deploying a stack with such a parameter
(it cannot tell whether the value changed). Deploy order is explicit
(`add_dependency`), since no CDK reference links the stacks any more.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from lakegate_cdk.nag import acknowledge

WEB_ACL_ARN = "web-acl-arn"
CERTIFICATE_ARN = "certificate-arn"
DISTRIBUTION_ID = "distribution-id"


def parameter_name(env_name: str, value: str) -> str:
    """The stable name one handed-off value goes by, in the consuming stack's region."""
    return f"/lakegate/{env_name}/handoff/{value}"


class HandoffWriter(Construct):
    """Writes `values` (name -> value, usually tokens) as SSM parameters in `region`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        region: str,
        values: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.parameter_names = {name: parameter_name(env_name, name) for name in values}
        arns = self._parameter_arns(region)
        self.writers: dict[str, cr.AwsCustomResource] = {
            name: self._writer(name, value, env_name=env_name, region=region, arns=arns)
            for name, value in values.items()
        }
        _acknowledge_provider(Stack.of(self))

    def _parameter_arns(self, region: str) -> list[str]:
        """The ARNs of all this writer's parameters (each value's policy names them all)."""
        stack = Stack.of(self)
        return [
            stack.format_arn(
                service="ssm", region=region, resource="parameter", resource_name=path[1:]
            )
            for path in self.parameter_names.values()
        ]

    def _writer(
        self,
        name: str,
        value: str,
        *,
        env_name: str,
        region: str,
        arns: list[str],
    ) -> cr.AwsCustomResource:
        """One value's custom resource: `PutParameter` (Overwrite) on create and on update."""
        stack = Stack.of(self)
        path = self.parameter_names[name]
        put = cr.AwsSdkCall(
            service="SSM",
            action="putParameter",
            region=region,
            parameters={
                "Name": path,
                "Value": value,
                "Type": "String",
                "Overwrite": True,
                "Description": f"lakegate {env_name}: {name}, written by {stack.stack_name}",
            },
            # The name, not a per-call id: an update stays the same resource.
            physical_resource_id=cr.PhysicalResourceId.of(path),
        )
        return cr.AwsCustomResource(
            self,
            name,
            on_create=put,
            on_update=put,
            # No on_delete: see the module docstring.
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["ssm:PutParameter"], resources=arns)]
            ),
            # The Lambda runtime's own SDK: installing the latest one at deploy would
            # download from npm inside the custom resource.
            install_latest_aws_sdk=False,
        )


def _acknowledge_provider(stack: Stack) -> None:
    # The singleton provider function AwsCustomResource creates for the stack.
    provider = stack.node.try_find_child("AWS679f53fac002430cb0da5b7982bd2287")
    if provider is not None:
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's AwsCustomResource provider runs only at deploy, to put the hand-off "
            "parameters; its role is CDK's own, with the basic execution policy for its "
            "logs. Its permissions on SSM are the statement scoped to our parameter ARNs.",
        )


def read(scope: Construct, env_name: str, value: str) -> str:
    """A handed-off value, resolved by CloudFormation on every deploy of `scope`'s stack."""
    token: str = ssm.StringParameter.value_for_string_parameter(
        scope, parameter_name(env_name, value)
    )
    return token
