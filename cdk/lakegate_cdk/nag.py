"""cdk-nag acknowledgements: every finding we accept, with the reason we accept it.

cdk-nag 3 runs as a CDK validation plugin; a finding nobody acknowledged makes
`app.synth()` fail. Acknowledgements are recorded on the narrowest construct that
owns the finding, so a new resource with the same problem is still reported.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

# CDK files an id without a plugin prefix under `Annotation::`; cdk-nag reads both, but
# the plugin-prefixed form is what its own error messages ask for.
PLUGIN_PREFIX = "AwsSolutions::"


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one finding (`AwsSolutions-XX` or `AwsSolutions-XX[finding]`) on scope."""
    if not rule_id.startswith("AwsSolutions-"):
        raise ValueError(f"not an AwsSolutions rule id: {rule_id!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=PLUGIN_PREFIX + rule_id, reason=reason))
