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
# Locally a failed message comes back after this many seconds (AWS: 6x the consumer's
# timeout, see infra/template.yaml), so retries and the DLQ can be watched in minutes.
VISIBILITY = os.environ.get("STUDIO_QUEUE_VISIBILITY_SECS", "20")
NOTIFY_FROM_ADDRESS = os.environ.get("STUDIO_NOTIFY_FROM_ADDRESS", "notifications@studio.local")
# queue name -> maxReceiveCount
QUEUES = {
    "file-processing": 3,
    "embedding": 3,
    "ocr-completion": 3,
    "assistant-runs": 3,
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
    for name, max_receives in QUEUES.items():
        dlq_url = sqs.create_queue(QueueName=f"{PREFIX}-{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName=f"{PREFIX}-{name}")["QueueUrl"]
        sqs.set_queue_attributes(
            QueueUrl=url,
            Attributes={
                "VisibilityTimeout": VISIBILITY,
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}),
            },
        )
        queues[name] = {"url": url, "dlqUrl": dlq_url}

    # Uploads notify the file-processing queue, as the template's bucket notification does.
    arn = sqs.get_queue_attributes(QueueUrl=queues["file-processing"]["url"], AttributeNames=["QueueArn"])
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "FileProcessing",
                    "QueueArn": arn["Attributes"]["QueueArn"],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "repositories/"}]}},
                }
            ]
        },
    )

    sm = client("secretsmanager")
    database_secret = ensure_secret(sm, f"{PREFIX}/database", json.dumps({"username": "postgres", "password": ""}))
    settings_key = ensure_secret(sm, f"{PREFIX}/settings-key", os.urandom(32).hex())

    # The sender NOTIFY_MAILER=ses uses locally, verified as SES requires.
    try:
        client("sesv2").create_email_identity(EmailIdentity=NOTIFY_FROM_ADDRESS)
    except ClientError as error:
        if error.response["Error"]["Code"] != "AlreadyExistsException":
            raise

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
