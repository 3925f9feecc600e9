"""The result cache's storage: a DynamoDB table for entries, an S3 bucket for large bodies.

Both hold only data rebuilt from the warehouse on a miss, so both are destroyed
with the stack and neither is backed up.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from lakegate_cdk.nag import acknowledge

# Contract with `cache/`: the key attribute, the expiry attribute and the key prefix.
PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
OVERFLOW_PREFIX = "results/"

# Item operations the runtime performs; no Scan or Query, it only addresses by key.
TABLE_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)
BUCKET_ACTIONS = ("s3:GetObject", "s3:PutObject")


class CacheStorage(Construct):
    """The cache table and the overflow bucket, and the one way to grant access to them."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        overflow_expiry_days: int,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(
                name=PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # DynamoDB deletes expired items lazily (up to days later); readers check expiry.
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.table,
            "AwsSolutions-DDB3",
            "Point-in-time recovery is off on purpose: the table is a cache of warehouse "
            "results whose entries expire within hours; a restored copy would only serve stale "
            "data, and an empty table refills itself from the warehouse on demand.",
        )

        # Bodies over DynamoDB's 400 KB item limit live here, and answers too large for a
        # Lambda response (served as 303s to presigned URLs); the item points at the object.
        # Objects expire after `overflow_expiry_days`, past the longest entry lifetime
        # (tests/cdk/test_exports.py holds the catalogue to it).
        self.bucket = s3.Bucket(
            self,
            "OverflowBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="s3/overflow/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-results",
                    prefix=OVERFLOW_PREFIX,
                    expiration=Duration.days(overflow_expiry_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            # Cached bodies are disposable: `cdk destroy` empties and deletes the bucket.
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )

    def grant_runtime(self, role: iam.Role) -> None:
        """Item operations on the table; read and write of objects under `results/` only."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CacheTableItems",
                actions=list(TABLE_ACTIONS),
                resources=[self.table.table_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CacheOverflowObjects",
                actions=list(BUCKET_ACTIONS),
                resources=[self.bucket.arn_for_objects(f"{OVERFLOW_PREFIX}*")],
            )
        )
        bucket_id = Stack.of(self).resolve(
            Stack.of(self).get_logical_id(self.bucket.node.default_child)
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{OVERFLOW_PREFIX}*]",
            "Overflow objects and answers too large for a Lambda response are named by cache "
            "key under results/; the grant is limited to s3:GetObject (read back, and the "
            "presigned URLs of 303 answers, which are signed with this role) and s3:PutObject "
            "on that prefix of this one bucket.",
        )
