"""Creates the stack's AWS resources in moto, idempotently, and prints their ids as JSON.

The local equivalents of infra/template.yaml's bucket, queues (each with a DLQ and redrive),
secrets and the scheduler rule. Run by `studio up` with the stack's virtualenv.
"""

import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

PREFIX = os.environ.get("STUDIO_RESOURCE_PREFIX", "studio")
BUCKET = f"{PREFIX}-documents-local"
# queue name -> (visibility timeout seconds, maxReceiveCount)
QUEUES = {
    "file-processing": (900, 3),
    "embedding": (900, 3),
    "ocr-completion": (900, 3),
    "assistant-runs": (900, 3),
}


def client(service):
    return boto3.client(service, endpoint_url=os.environ["MOTO_ENDPOINT"], region_name="us-east-1")


def ensure_secret(sm, name, value):
    try:
        return sm.create_secret(Name=name, SecretString=value)["ARN"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceExistsException":
            raise
        return sm.describe_secret(SecretId=name)["ARN"]


def main():
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=BUCKET)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )

    sqs = client("sqs")
    queues = {}
    for name, (visibility, max_receives) in QUEUES.items():
        dlq_url = sqs.create_queue(QueueName=f"{PREFIX}-{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=f"{PREFIX}-{name}")["QueueUrl"]
        sqs.set_queue_attributes(
            QueueUrl=url,
            Attributes={
                "VisibilityTimeout": str(visibility),
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}),
            },
        )
        queues[name] = {"url": url, "dlqUrl": dlq_url}

    sm = client("secretsmanager")
    database_secret = ensure_secret(sm, f"{PREFIX}/database", json.dumps({"username": "postgres", "password": ""}))
    settings_key = ensure_secret(sm, f"{PREFIX}/settings-key", os.urandom(32).hex())

    events = client("events")
    events.put_rule(Name=f"{PREFIX}-scheduler-tick", ScheduleExpression="rate(1 minute)", State="ENABLED")

    json.dump(
        {
            "bucket": BUCKET,
            "queues": queues,
            "databaseSecretArn": database_secret,
            "settingsKeySecretArn": settings_key,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
