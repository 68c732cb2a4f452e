"""infra/template.yaml passes cfn-lint and is wired the way the architecture says.

The checks live in template_checks.py; each test runs one on the real template and, where
a regression is easy to make, on a copy broken on purpose to show the check notices.
"""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import template_checks as tc


@pytest.fixture(scope="module")
def template():
    return tc.load()


@pytest.fixture(scope="module")
def transformed(template):
    return tc.sam_transform(template)


def test_cfn_lint_reports_nothing():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(tc.TEMPLATE)], capture_output=True, text=True,
                            cwd=tc.ROOT, timeout=300)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_sam_validate_lint_passes_offline():
    sam = Path(sys.executable).with_name("sam")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_ACCESS_KEY_ID": "none",
           "AWS_SECRET_ACCESS_KEY": "none"}
    result = subprocess.run([str(sam), "validate", "--lint", "--region", "us-east-1"],
                            capture_output=True, text=True, cwd=tc.ROOT / "infra", env=env,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint_is_the_pinned_version_that_expands_sam():
    from cfnlint.version import __version__
    assert __version__ == "1.53.3"


def test_every_function_crate_has_exactly_its_function_resource(template):
    crates = tc.crates()
    assert "db-init" in crates, "functions/ was not read"
    assert tc.check_functions_match_crates(template, crates) == []


def test_a_crate_without_a_function_resource_is_reported(template):
    crates = {**tc.crates(), "chat-archiver": ["chat-archiver"]}
    assert tc.check_functions_match_crates(template, crates) == [
        "functions/chat-archiver: no AWS::Serverless::Function builds ['chat-archiver']"]


def test_a_function_whose_binary_has_no_crate_is_reported(template):
    broken = copy.deepcopy(template)
    broken["Resources"]["DbInitFunction"]["Metadata"]["BuildProperties"]["Binary"] = "db_init"
    problems = tc.check_functions_match_crates(broken, tc.crates())
    assert any("'db_init' is not built by any crate" in p for p in problems), problems


def with_sqs_consumer(template, timeout=150, **event_props):
    """A copy of the template with a file-processor consuming the file-processing queue."""
    broken = copy.deepcopy(template)
    fn = copy.deepcopy(broken["Resources"]["DbInitFunction"])
    fn["Properties"]["Timeout"] = timeout
    fn["Properties"]["Environment"] = {"Variables": {"MAX_RECEIVE_COUNT": "3"}}
    props = {"Queue": {"Fn::GetAtt": ["FileProcessingQueue", "Arn"]}, "BatchSize": 10,
             "FunctionResponseTypes": ["ReportBatchItemFailures"],
             "ScalingConfig": {"MaximumConcurrency": 5}}
    props.update(event_props)
    fn["Properties"]["Events"] = {"Files": {"Type": "SQS", "Properties": props}}
    broken["Resources"]["FileProcessorFunction"] = fn
    return broken


def test_sqs_event_sources_report_batch_failures_with_bounded_concurrency(template):
    assert tc.check_sqs_event_sources(template) == []
    assert tc.check_sqs_event_sources(with_sqs_consumer(template)) == []


def test_an_sqs_trigger_without_partial_batch_responses_is_reported(template):
    broken = with_sqs_consumer(template, FunctionResponseTypes=[], ScalingConfig={})
    assert tc.check_sqs_event_sources(broken) == [
        "FileProcessorFunction.Events.Files: FunctionResponseTypes lacks ReportBatchItemFailures",
        "FileProcessorFunction.Events.Files: no ScalingConfig.MaximumConcurrency",
    ]


def test_a_visibility_timeout_under_six_consumer_timeouts_is_reported(template):
    broken = with_sqs_consumer(template, timeout=151)
    assert tc.check_sqs_event_sources(broken) == [
        "FileProcessingQueue: VisibilityTimeout 900 < 6 x FileProcessorFunction Timeout 151"]


def test_a_consumer_told_another_max_receive_count_than_its_queues_is_reported(template):
    broken = copy.deepcopy(template)
    broken["Resources"]["EmbeddingQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] = 5
    assert tc.check_sqs_event_sources(broken) == [
        "EmbeddingGeneratorFunction: MAX_RECEIVE_COUNT 3 is not EmbeddingQueue's maxReceiveCount 5"]


def test_every_work_queue_has_an_encrypted_dead_letter_queue(template):
    assert tc.check_queues_have_dlqs(template) == []
    assert set(tc.dead_letter_queues(template)) == {
        "FileProcessingQueue", "EmbeddingQueue", "OcrCompletionQueue", "AssistantRunsQueue"}


def test_a_queue_without_redrive_is_reported(template):
    broken = copy.deepcopy(template)
    del broken["Resources"]["EmbeddingQueue"]["Properties"]["RedrivePolicy"]
    problems = tc.check_queues_have_dlqs(broken)
    # Its DLQ is now an ordinary queue without a DLQ of its own: both are reported.
    assert "EmbeddingQueue: no RedrivePolicy (every work queue needs a DLQ)" in problems
    assert "EmbeddingDLQ: no RedrivePolicy (every work queue needs a DLQ)" in problems


def test_every_dlq_and_function_has_alarms(template):
    assert tc.check_alarms(template) == []


def test_a_dlq_without_an_alarm_is_reported(template):
    broken = copy.deepcopy(template)
    del broken["Resources"]["OcrCompletionDLQAlarm"]
    del broken["Resources"]["DbInitThrottlesAlarm"]
    assert tc.check_alarms(broken) == [
        "OcrCompletionDLQ: no ApproximateNumberOfMessagesVisible alarm",
        "DbInitFunction: no Throttles alarm",
    ]


def test_functions_log_json_to_their_own_retained_log_group(template):
    assert tc.check_logging(template) == []


def test_iam_grants_named_actions_on_this_stacks_resources_only(transformed):
    assert tc.check_iam(transformed) == []
    roles = tc.resources(transformed, "AWS::IAM::Role")
    assert "DbInitFunctionRole" in roles, "the SAM transform produced no function role"


def test_wildcards_foreign_clusters_and_broad_managed_policies_are_reported(template):
    broken = copy.deepcopy(template)
    statements = broken["Resources"]["DbInitFunction"]["Properties"]["Policies"][0]["Statement"]
    statements.append({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::x/*"})
    statements.append({"Effect": "Allow", "Action": "rds-data:ExecuteStatement",
                       "Resource": "arn:aws:rds:us-east-1:123456789012:cluster:someone-else"})
    broken["Resources"]["DbInitFunction"]["Properties"]["Policies"].append("AmazonS3FullAccess")
    problems = tc.check_iam(tc.sam_transform(broken))
    assert any("wildcard action 's3:*'" in p for p in problems), problems
    assert any("cluster:someone-else" in p and "not this template's cluster" in p for p in problems)
    assert any("AmazonS3FullAccess" in p for p in problems), problems


def test_each_function_has_fixtures_in_the_shapes_its_triggers_send(template):
    assert tc.check_event_fixtures(template) == []


def test_an_sqs_consumer_without_an_sqs_fixture_is_reported(template):
    broken = with_sqs_consumer(template)  # reuses db-init's binary, whose fixtures are CFN/direct
    assert tc.check_event_fixtures(broken) == [
        "FileProcessorFunction: no events/db-init/*.json has the SQS event shape"]


def test_each_functions_fixtures_are_loaded_by_a_test(template):
    assert tc.check_fixtures_are_loaded(template) == []
    broken = copy.deepcopy(template)
    broken["Resources"]["DbInitFunction"]["Metadata"]["BuildProperties"]["Binary"] = "ghost"
    assert tc.check_fixtures_are_loaded(broken) == [
        "DbInitFunction: no test loads events/ghost/*.json"]


def test_migrations_run_when_the_schema_changes_and_on_demand(template):
    assert tc.check_migrations_run_every_deploy(template) == []
    broken = copy.deepcopy(template)
    del broken["Resources"]["DatabaseMigrations"]["Properties"]["MigrationsVersion"]
    assert tc.check_migrations_run_every_deploy(broken) == [
        "DatabaseMigrations: no property references !Ref DbInitFunction.Version"]


def test_streaming_routes_must_stream(template):
    assert tc.check_streaming_routes(template) == []
    broken = copy.deepcopy(template)
    paths = broken["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"]
    paths["/chat"] = {"post": {"x-amazon-apigateway-integration": {"type": "aws_proxy"}}}
    assert tc.check_streaming_routes(broken) == [
        "Api POST /chat: responseTransferMode is not STREAM"]


def bedrock_statements(template):
    """(resource, statement) for every Bedrock statement, wherever a policy holds it."""
    found = []

    def walk(node, owner):
        if isinstance(node, dict):
            action = node.get("Action")
            actions = action if isinstance(action, list) else [action]
            if any(isinstance(a, str) and a.startswith("bedrock:") for a in actions):
                found.append((owner, node))
            for value in node.values():
                walk(value, owner)
        elif isinstance(node, list):
            for value in node:
                walk(value, owner)

    for name, resource in template["Resources"].items():
        walk(resource, name)
    return found


def test_bedrock_embeddings_may_invoke_only_the_configured_model_and_only_when_chosen(template):
    assert "bedrock" in template["Parameters"]["EmbeddingProvider"]["AllowedValues"]
    everything = bedrock_statements(template)
    statements = [(o, s) for o, s in everything if s.get("Sid") == "EmbeddingModel"]
    assert {owner for owner, _ in statements} == {
        "ApiFunction", "EmbeddingGeneratorRole", "ChatStreamFunction", "ScheduledExecutorRole"}
    # Chat models stream (ConverseStream) and may not call InvokeModel.
    chat = [(o, s) for o, s in everything if s.get("Sid") != "EmbeddingModel"]
    assert {owner for owner, _ in chat} == {"ChatStreamFunction", "ScheduledExecutorRole"}
    assert all(s["Action"] == "bedrock:InvokeModelWithResponseStream" for _, s in chat)
    model_arn = "arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/${EmbeddingModelId}"
    for owner, statement in statements:
        assert statement["Action"] == "bedrock:InvokeModel", owner
        assert statement["Resource"] == {"Fn::Sub": model_arn}, owner
    # Each sits in the "then" branch of the BedrockEmbeddings condition.
    text = json.dumps(template["Resources"])
    assert text.count('{"Fn::If": ["BedrockEmbeddings", {"Sid": "EmbeddingModel"') == 4
    assert template["Conditions"]["BedrockEmbeddings"] == {
        "Fn::Equals": [{"Ref": "EmbeddingProvider"}, "bedrock"]}
