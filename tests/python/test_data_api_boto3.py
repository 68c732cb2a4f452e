"""boto3's rds-data client against the local Data API server gets the documented shapes.

Run by scripts/test.sh with the stack's environment (AWS_ENDPOINT_URL_RDS_DATA, ...).
"""

import base64
import os
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

ARN = os.environ.get("DATABASE_RESOURCE_ARN", "arn:aws:rds:us-east-1:123456789012:cluster:studio-local")
SECRET = os.environ.get("DATABASE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:studio/database")
DATABASE = os.environ.get("DATABASE_NAME", "studio")


@pytest.fixture(scope="module")
def rds():
    endpoint = os.environ.get("AWS_ENDPOINT_URL_RDS_DATA")
    if not endpoint:
        pytest.fail("AWS_ENDPOINT_URL_RDS_DATA is not set: run scripts/test.sh, which starts the stack")
    return boto3.client(
        "rds-data",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture()
def table(rds):
    name = f"boto3_{uuid.uuid4().hex[:12]}"
    call(rds, f"CREATE TABLE {name} (id uuid PRIMARY KEY, title text, n int8, score float8, ok bool, "
              f"price numeric(10,2), doc jsonb, at timestamptz, raw bytea)")
    yield name
    call(rds, f"DROP TABLE {name}")


def call(rds, sql, parameters=(), **extra):
    return rds.execute_statement(
        resourceArn=ARN, secretArn=SECRET, database=DATABASE, sql=sql, parameters=list(parameters), **extra
    )


def test_execute_statement_round_trips_typed_values_with_metadata(rds, table):
    row_id = str(uuid.uuid4())
    inserted = call(
        rds,
        f"INSERT INTO {table} (id, title, n, score, ok, price, doc, at, raw) "
        f"VALUES (:id, :title, :n, :score, :ok, :price, :doc::jsonb, :at, :raw)",
        [
            {"name": "id", "value": {"stringValue": row_id}, "typeHint": "UUID"},
            {"name": "title", "value": {"stringValue": "héllo"}},
            {"name": "n", "value": {"longValue": 42}},
            {"name": "score", "value": {"doubleValue": 0.5}},
            {"name": "ok", "value": {"booleanValue": True}},
            {"name": "price", "value": {"stringValue": "19.99"}, "typeHint": "DECIMAL"},
            {"name": "doc", "value": {"stringValue": '{"a": [1, 2]}'}, "typeHint": "JSON"},
            {"name": "at", "value": {"stringValue": "2026-11-22 10:11:12.5"}, "typeHint": "TIMESTAMP"},
            {"name": "raw", "value": {"blobValue": b"\x00\x01\xff"}},
        ],
    )
    assert inserted["numberOfRecordsUpdated"] == 1
    assert inserted["generatedFields"] == []

    result = call(
        rds,
        f"SELECT id, title, n, score, ok, price, doc, at, raw, NULL::text AS nothing FROM {table}",
        includeResultMetadata=True,
    )
    assert result["records"] == [[
        {"stringValue": row_id},
        {"stringValue": "héllo"},
        {"longValue": 42},
        {"doubleValue": 0.5},
        {"booleanValue": True},
        {"stringValue": "19.99"},
        {"stringValue": '{"a": [1, 2]}'},
        {"stringValue": "2026-11-22 10:11:12.5"},
        {"blobValue": b"\x00\x01\xff"},
        {"isNull": True},
    ]]
    names = [(c["name"], c["typeName"]) for c in result["columnMetadata"]]
    assert names == [("id", "uuid"), ("title", "text"), ("n", "int8"), ("score", "float8"), ("ok", "bool"),
                     ("price", "numeric"), ("doc", "jsonb"), ("at", "timestamptz"), ("raw", "bytea"),
                     ("nothing", "text")]
    assert result["numberOfRecordsUpdated"] == 0


def test_format_records_as_json(rds):
    result = call(rds, "SELECT 1 AS one, 'two' AS two", formatRecordsAs="JSON")
    assert "records" not in result
    assert result["formattedRecords"] == '[{"one":1,"two":"two"}]'


def test_batch_execute_statement_returns_one_update_result_per_set(rds, table):
    sets = [
        [{"name": "id", "value": {"stringValue": str(uuid.uuid4())}, "typeHint": "UUID"},
         {"name": "n", "value": {"longValue": n}}]
        for n in range(3)
    ]
    result = rds.batch_execute_statement(
        resourceArn=ARN, secretArn=SECRET, database=DATABASE,
        sql=f"INSERT INTO {table} (id, n) VALUES (:id, :n) RETURNING n", parameterSets=sets,
    )
    assert result["updateResults"] == [{"generatedFields": [{"longValue": n}]} for n in range(3)]


def test_begin_commit_and_rollback_transactions(rds, table):
    committed = rds.begin_transaction(resourceArn=ARN, secretArn=SECRET, database=DATABASE)["transactionId"]
    call(rds, f"INSERT INTO {table} (id, title) VALUES (gen_random_uuid(), 'kept')", transactionId=committed)
    status = rds.commit_transaction(resourceArn=ARN, secretArn=SECRET, transactionId=committed)
    assert status["transactionStatus"] == "Transaction Committed"

    discarded = rds.begin_transaction(resourceArn=ARN, secretArn=SECRET, database=DATABASE)["transactionId"]
    call(rds, f"INSERT INTO {table} (id, title) VALUES (gen_random_uuid(), 'gone')", transactionId=discarded)
    status = rds.rollback_transaction(resourceArn=ARN, secretArn=SECRET, transactionId=discarded)
    assert status["transactionStatus"] == "Rollback Complete"

    titles = call(rds, f"SELECT title FROM {table} ORDER BY title")["records"]
    assert titles == [[{"stringValue": "kept"}]]

    with pytest.raises(ClientError) as error:
        rds.commit_transaction(resourceArn=ARN, secretArn=SECRET, transactionId=discarded)
    assert error.value.response["Error"]["Code"] == "TransactionNotFoundException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_sql_errors_are_database_error_exceptions(rds):
    with pytest.raises(rds.exceptions.DatabaseErrorException) as error:
        call(rds, "SELECT * FROM missing_table_for_boto3")
    assert "SQLState: 42P01" in error.value.response["Error"]["Message"]


def test_missing_parameters_are_bad_requests(rds):
    with pytest.raises(rds.exceptions.BadRequestException) as error:
        call(rds, "SELECT :absent")
    assert "absent" in error.value.response["Error"]["Message"]
