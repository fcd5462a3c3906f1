"""Create the template's data resources in the embedded AWS (moto server).

moto's own CloudFormation ignores bucket versioning, Object Lock, CORS, lifecycle and notifications,
so each resource type is created here with the same API calls CloudFormation would make, from the
translated template's properties. Types are sorted into three sets; a type in none of them stops the
stack with a message, so that adding a resource to template.yaml cannot go unnoticed locally.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

from .template import Resolver

# Created in moto by this module.
PROVISIONED_TYPES = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::DynamoDB::Table",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::Events::EventBus",
        "AWS::SNS::Topic",
        "AWS::Logs::LogGroup",
        "AWS::Cognito::UserPool",
        "AWS::Cognito::UserPoolGroup",
        "AWS::SES::EmailIdentity",
        "AWS::Cognito::UserPoolClient",
    }
)
# Emulated by the local runtime (infra.local.runtime / gateway / pollers).
WIRED_TYPES = frozenset(
    {
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Events::Rule",
        "AWS::Scheduler::Schedule",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
        # The gateway applies the web ACL's rate rules and the pages' response headers (edge.py).
        "AWS::WAFv2::WebACL",
        "AWS::CloudFront::ResponseHeadersPolicy",
    }
)
# Not needed locally, each for a stated reason.
NOT_EMULATED: Mapping[str, str] = {
    "AWS::Lambda::LayerVersion": "the layer's code is imported from layers/core directly",
    "AWS::Lambda::Permission": "invoke permissions: the local runtime calls handlers itself",
    "AWS::IAM::Role": "moto does not enforce IAM; policies are checked by cfn-lint and in AWS",
    "AWS::Cognito::UserPoolDomain": "no hosted UI locally; the local identity provider has a token endpoint",
    "AWS::CloudWatch::Alarm": "alarms need CloudWatch metrics from real Lambda; validated by cfn-lint",
    "AWS::CloudWatch::Dashboard": "dashboards are validated by cfn-lint",
    "AWS::SNS::Subscription": "no e-mail locally",
    "AWS::CloudFront::Distribution": "the local gateway serves web/ itself under /web/",
    "AWS::CloudFront::OriginAccessControl": "no CDN locally",
}


class UnknownResourceType(RuntimeError):
    """template.yaml has a resource type the local stack does not know how to handle."""


@dataclass(frozen=True)
class Provisioned:
    """What was created: logical id → physical id, plus the attributes other resources read."""

    refs: Mapping[str, Any]
    attrs: Mapping[tuple[str, str], Any]
    types: Mapping[str, str]


def check_types(resources: Mapping[str, Any]) -> None:
    """Fail loudly on a resource type that is neither created, wired nor knowingly skipped."""
    known = PROVISIONED_TYPES | WIRED_TYPES | set(NOT_EMULATED)
    unknown = sorted({r["Type"] for r in resources.values()} - known)
    if unknown:
        raise UnknownResourceType(
            "template.yaml uses resource types the local stack does not handle: "
            + ", ".join(unknown)
            + " (add them to infra/local/provision.py)"
        )


def provision(cfn: Mapping[str, Any], resolver: Resolver, client: Callable[[str], Any]) -> Provisioned:
    """Create every PROVISIONED_TYPES resource of the translated template, in dependency order."""
    resources: Mapping[str, Any] = cfn["Resources"]
    check_types(resources)
    wanted = {k: v for k, v in resources.items() if v["Type"] in PROVISIONED_TYPES}
    for logical_id, resource in resources.items():
        # A provisioned resource may name one that is not emulated (a bucket policy naming the CDN):
        # the reference resolves to a visible marker instead of stopping the stack.
        if resource["Type"] in NOT_EMULATED:
            resolver.refs.setdefault(logical_id, f"not-emulated-locally:{logical_id}")
    graph: dict[str, set[str]] = {}
    for logical_id, resource in wanted.items():
        deps = resolver.references_in(resource.get("Properties", {}))
        depends_on = resource.get("DependsOn", [])
        deps |= set([depends_on] if isinstance(depends_on, str) else depends_on)
        graph[logical_id] = {d for d in deps if d in wanted}
    types: dict[str, str] = {}
    for logical_id in TopologicalSorter(graph).static_order():
        resource = wanted[logical_id]
        condition = resource.get("Condition")
        if condition and not resolver.condition(condition):
            continue
        props = resolver.resolve(resource.get("Properties", {}))
        _CREATORS[resource["Type"]](logical_id, props, resolver, client)
        types[logical_id] = resource["Type"]
    return Provisioned(refs=dict(resolver.refs), attrs=dict(resolver.attrs), types=types)


# ------------------------------------------------------------------------------------------ creators
Creator = Callable[[str, dict[str, Any], Resolver, Callable[[str], Any]], None]


def _bucket(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    s3 = client("s3")
    name = p["BucketName"]
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(p.get("ObjectLockEnabled")))
    if p.get("VersioningConfiguration"):
        s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": p["VersioningConfiguration"]["Status"]}
        )
    lock = p.get("ObjectLockConfiguration")
    if lock and lock.get("Rule"):
        retention = dict(lock["Rule"]["DefaultRetention"])
        for unit in ("Years", "Days"):
            if unit in retention:
                retention[unit] = int(retention[unit])
        s3.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}},
        )
    if p.get("BucketEncryption"):
        # SSE-KMS with the data key as in AWS: moto records the key id on each object it stores.
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                        **(
                            {"BucketKeyEnabled": bool(rule["BucketKeyEnabled"])}
                            if "BucketKeyEnabled" in rule
                            else {}
                        ),
                    }
                    for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    logging = p.get("LoggingConfiguration")
    if logging:
        # moto checks, as S3 does, that the log bucket's policy lets the logging service write (it
        # delivers no logs: the setting is what the wiring test reads).
        s3.put_bucket_logging(
            Bucket=name,
            BucketLoggingStatus={
                "LoggingEnabled": {
                    "TargetBucket": logging["DestinationBucketName"],
                    "TargetPrefix": logging.get("LogFilePrefix", ""),
                }
            },
        )
    if p.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"]
        )
    if p.get("CorsConfiguration"):
        # CloudFormation's property names differ from the S3 API's.
        renames = {"ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds", "Id": "ID"}
        cors_rules = [
            {renames.get(k, k): (int(v) if k == "MaxAge" else v) for k, v in rule.items()}
            for rule in p["CorsConfiguration"]["CorsRules"]
        ]
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors_rules})
    if p.get("LifecycleConfiguration"):
        rules = []
        for rule in p["LifecycleConfiguration"]["Rules"]:
            out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"]}
            out["Filter"] = {"Prefix": rule.get("Prefix", "")}
            if "ExpirationInDays" in rule:
                out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
            if "NoncurrentVersionExpiration" in rule:
                out["NoncurrentVersionExpiration"] = {
                    "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
                }
            if "AbortIncompleteMultipartUpload" in rule:
                out["AbortIncompleteMultipartUpload"] = {
                    "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
                }
            rules.append(out)
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    notifications = p.get("NotificationConfiguration", {})
    if notifications.get("QueueConfigurations"):
        queues = []
        for qc in notifications["QueueConfigurations"]:
            entry: dict[str, Any] = {"QueueArn": qc["Queue"], "Events": [qc["Event"]]}
            rules = qc.get("Filter", {}).get("S3Key", {}).get("Rules")
            if rules:
                entry["Filter"] = {"Key": {"FilterRules": rules}}
            queues.append(entry)
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"QueueConfigurations": queues}
        )
    r.refs[logical_id] = name
    r.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
    r.attrs[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"
    r.attrs[(logical_id, "RegionalDomainName")] = f"{name}.s3.{r.ref('AWS::Region')}.amazonaws.com"


def _is_tls_only(statement: Mapping[str, Any]) -> bool:
    return "aws:SecureTransport" in statement.get("Condition", {}).get("Bool", {})


def _bucket_policy(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    # moto enforces bucket policies, and the local endpoint is plain HTTP on loopback: TLS-only
    # denies would refuse every request, so they are left out locally (cfn-lint and AWS check them).
    document = dict(p["PolicyDocument"])
    document["Statement"] = [s for s in document["Statement"] if not _is_tls_only(s)]
    if document["Statement"]:
        client("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(document))
    r.refs[logical_id] = p["Bucket"]


def _queue(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    sqs = client("sqs")
    attributes: dict[str, str] = {}
    for key in (
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds",
    ):
        if key in p:
            attributes[key] = str(p[key])
    if "RedrivePolicy" in p:
        attributes["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
    # Recorded by moto (it does not encrypt messages): the wiring test reads which key each queue names.
    for key in ("KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"):
        if key in p:
            attributes[key] = str(p[key]).lower() if isinstance(p[key], bool) else str(p[key])
    name = p.get("QueueName") or f"onestop-local-{logical_id}"
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    r.refs[logical_id] = url
    r.attrs[(logical_id, "Arn")] = arn
    r.attrs[(logical_id, "QueueName")] = name
    r.attrs[(logical_id, "QueueUrl")] = url


def _queue_policy(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    for url in p["Queues"]:
        client("sqs").set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])}
        )
    r.refs[logical_id] = logical_id


def _table(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    ddb = client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": p["TableName"],
        "AttributeDefinitions": p["AttributeDefinitions"],
        "KeySchema": p["KeySchema"],
        "BillingMode": p.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if p.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
    sse = p.get("SSESpecification")
    if sse:
        kwargs["SSESpecification"] = {
            "Enabled": bool(sse.get("SSEEnabled")),
            **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
            **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
        }
    description = ddb.create_table(**kwargs)["TableDescription"]
    ttl = p.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        ddb.update_time_to_live(
            TableName=p["TableName"],
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    if p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=p["TableName"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    r.refs[logical_id] = p["TableName"]
    r.attrs[(logical_id, "Arn")] = description["TableArn"]


def _key(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    meta = client("kms").create_key(
        Description=p.get("Description", ""),
        KeySpec=p.get("KeySpec", "SYMMETRIC_DEFAULT"),
        KeyUsage=p.get("KeyUsage", "ENCRYPT_DECRYPT"),
        Policy=json.dumps(p["KeyPolicy"]) if "KeyPolicy" in p else None,
    )["KeyMetadata"]
    if p.get("EnableKeyRotation"):
        kms = client("kms")
        if "RotationPeriodInDays" in p:
            kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=int(p["RotationPeriodInDays"]))
        else:
            kms.enable_key_rotation(KeyId=meta["KeyId"])
    r.refs[logical_id] = meta["KeyId"]
    r.attrs[(logical_id, "Arn")] = meta["Arn"]
    r.attrs[(logical_id, "KeyId")] = meta["KeyId"]


def _alias(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    client("kms").create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
    r.refs[logical_id] = p["AliasName"]


def _bus(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    arn = client("events").create_event_bus(Name=p["Name"])["EventBusArn"]
    r.refs[logical_id] = p["Name"]
    r.attrs[(logical_id, "Arn")] = arn
    r.attrs[(logical_id, "Name")] = p["Name"]


def _topic(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    attributes = {"KmsMasterKeyId": str(p["KmsMasterKeyId"])} if "KmsMasterKeyId" in p else {}
    arn = client("sns").create_topic(
        Name=p.get("TopicName") or f"onestop-local-{logical_id}", Attributes=attributes
    )["TopicArn"]
    r.refs[logical_id] = arn
    r.attrs[(logical_id, "TopicArn")] = arn


def _log_group(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    name = p["LogGroupName"]
    logs = client("logs")
    logs.create_log_group(logGroupName=name, **({"kmsKeyId": p["KmsKeyId"]} if "KmsKeyId" in p else {}))
    if "RetentionInDays" in p:
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(p["RetentionInDays"]))
    r.refs[logical_id] = name
    r.attrs[(logical_id, "Arn")] = (
        f"arn:aws:logs:{r.ref('AWS::Region')}:{r.ref('AWS::AccountId')}:log-group:{name}:*"
    )


def _user_pool(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    # The users and their attributes (custom:uscc, custom:id_number: the parties each acts for) live
    # here; the local identity provider reads them when it issues a token, and the api function's
    # binding approvals write them, as in AWS.
    schema = [
        {
            **{k: v for k, v in attribute.items() if k != "StringAttributeConstraints"},
            **(
                {"StringAttributeConstraints": {k: str(v) for k, v in c.items()}}
                if (c := attribute.get("StringAttributeConstraints"))
                else {}
            ),
        }
        for attribute in p.get("Schema", [])
    ]
    kwargs: dict[str, Any] = {"PoolName": p["UserPoolName"], "Schema": schema}
    for key in ("UsernameAttributes", "AutoVerifiedAttributes"):
        if p.get(key):
            kwargs[key] = p[key]
    pool = client("cognito-idp").create_user_pool(**kwargs)["UserPool"]
    r.refs[logical_id] = pool["Id"]
    r.attrs[(logical_id, "Arn")] = pool["Arn"]
    r.attrs[(logical_id, "ProviderName")] = f"cognito-idp.{r.ref('AWS::Region')}.amazonaws.com/{pool['Id']}"


def _user_pool_group(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    kwargs: dict[str, Any] = {"GroupName": p["GroupName"], "UserPoolId": p["UserPoolId"]}
    if "Description" in p:
        kwargs["Description"] = p["Description"]
    if "Precedence" in p:
        kwargs["Precedence"] = int(p["Precedence"])
    client("cognito-idp").create_group(**kwargs)
    r.refs[logical_id] = p["GroupName"]


# The client settings moto takes as CloudFormation names them (the API's parameter names are the same).
_CLIENT_PROPERTIES = (
    "ClientName",
    "GenerateSecret",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
    "ExplicitAuthFlows",
    "SupportedIdentityProviders",
    "CallbackURLs",
    "LogoutURLs",
    "AllowedOAuthFlows",
    "AllowedOAuthScopes",
    "AllowedOAuthFlowsUserPoolClient",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
)


def _user_pool_client(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    # Each channel's app client (issue 18 item 3): its id is what the local identity provider puts in a
    # token's `aud` and what the api function's CHANNEL_CLIENTS maps to the channel, as in AWS.
    kwargs: dict[str, Any] = {"UserPoolId": p["UserPoolId"]}
    kwargs.update({k: p[k] for k in _CLIENT_PROPERTIES if k in p})
    for key in ("RefreshTokenValidity", "AccessTokenValidity", "IdTokenValidity"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    for key in ("GenerateSecret", "AllowedOAuthFlowsUserPoolClient", "EnableTokenRevocation"):
        if key in kwargs:
            kwargs[key] = kwargs[key] in (True, "true", "True")
    created = client("cognito-idp").create_user_pool_client(**kwargs)["UserPoolClient"]
    r.refs[logical_id] = created["ClientId"]


def _email_identity(logical_id: str, p: dict[str, Any], r: Resolver, client: Callable[[str], Any]) -> None:
    # The notify function's sender. moto verifies at once (AWS mails the address, or waits for the
    # DKIM records of a domain); what the function sends is kept in moto's sent messages.
    identity = p["EmailIdentity"]
    if "@" in identity:
        client("ses").verify_email_identity(EmailAddress=identity)
    else:
        client("ses").verify_domain_identity(Domain=identity)
    r.refs[logical_id] = identity


_CREATORS: Mapping[str, Creator] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::SQS::Queue": _queue,
    "AWS::SQS::QueuePolicy": _queue_policy,
    "AWS::DynamoDB::Table": _table,
    "AWS::KMS::Key": _key,
    "AWS::KMS::Alias": _alias,
    "AWS::Events::EventBus": _bus,
    "AWS::SNS::Topic": _topic,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
    "AWS::SES::EmailIdentity": _email_identity,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
}
assert set(_CREATORS) == PROVISIONED_TYPES
