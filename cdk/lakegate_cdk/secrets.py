"""The two secrets the function reads: Databricks credentials and the admin token."""

from __future__ import annotations

import json

from aws_cdk import SecretValue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from lakegate_cdk.nag import acknowledge

# Deliberately not a credential: the runtime rejects a secret with neither `token` nor
# `client_id`/`client_secret`, so a forgotten `put-secret-value` fails loudly.
DATABRICKS_PLACEHOLDER = {
    "placeholder": "replace with {token} or {client_id, client_secret}: see cdk/README.md"
}


class Secrets(Construct):
    """Databricks credentials (set by the operator) and the admin token (generated)."""

    def __init__(self, scope: Construct, construct_id: str, *, env_name: str) -> None:
        super().__init__(scope, construct_id)
        self.databricks = secretsmanager.Secret(
            self,
            "Databricks",
            secret_name=f"lakegate/{env_name}/databricks",
            description="Databricks PAT {token} or OAuth M2M {client_id, client_secret} (JSON)",
            secret_string_value=SecretValue.unsafe_plain_text(json.dumps(DATABRICKS_PLACEHOLDER)),
        )
        acknowledge(
            self.databricks,
            "AwsSolutions-SMG4",
            "Databricks issues and expires this credential (PAT lifetime or OAuth secret); "
            "Secrets Manager cannot mint a new one. Operators rotate it in Databricks and store "
            "it with put-secret-value, as the deploy README describes.",
        )

        self.admin_token = secretsmanager.Secret(
            self,
            "AdminToken",
            secret_name=f"lakegate/{env_name}/admin-token",
            description="Bearer token for /admin/* (header x-lakegate-admin-token)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
        acknowledge(
            self.admin_token,
            "AwsSolutions-SMG4",
            "The admin token is shared with the few operators who invalidate caches; a "
            "scheduled rotation would lock them out unannounced, so rotation is a deliberate "
            "`aws secretsmanager put-secret-value` that they coordinate.",
        )

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """GetSecretValue on exactly these two secrets (no DescribeSecret, no listing)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadSecrets",
                actions=["secretsmanager:GetSecretValue"],
                resources=[self.databricks.secret_arn, self.admin_token.secret_arn],
            )
        )
