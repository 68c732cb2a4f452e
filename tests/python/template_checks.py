"""Wiring checks for infra/template.yaml: each returns the problems it finds (empty = fine).

They take the parsed template (cfn-lint's YAML loader, intrinsics as {"Ref": ...} dicts) so
that a test can also feed them a broken copy and see them fail. IAM checks run on the
template after the SAM transform, where every function role is a real AWS::IAM::Role.
"""

import copy
import json
import tomllib
from pathlib import Path

from cfnlint.decode import decode
from cfnlint.template import Template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"

FUNCTION = "AWS::Serverless::Function"
QUEUE = "AWS::SQS::Queue"
# What AWS's managed policies may add to a function role. SAM attaches
# AWSLambdaSQSQueueExecutionRole (every queue in the account) to SQS consumers without an
# explicit Role: give those an explicit Role scoped to their queue instead.
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
STREAMING_PATHS = ("/chat", "/compare", "/v1/chat/completions")


def load(path=TEMPLATE):
    template, errors = decode(str(path))
    if errors:
        raise ValueError(f"cannot parse {path}: {errors}")
    return json.loads(json.dumps(template))


def sam_transform(template):
    """The template as CloudFormation sees it after AWS::Serverless-2016-10-31."""
    cfn = Template(str(TEMPLATE), copy.deepcopy(template), ["us-east-1"])
    matches = cfn.transform()
    if matches:
        raise ValueError(f"SAM transform failed: {[str(m) for m in matches]}")
    return cfn.template


def resources(template, kind):
    return {k: v for k, v in template.get("Resources", {}).items() if v.get("Type") == kind}


def prop(template, resource, name, default=None):
    """A function property, falling back to Globals.Function."""
    props = resource.get("Properties", {})
    if name in props:
        return props[name]
    if resource.get("Type") == FUNCTION:
        return template.get("Globals", {}).get("Function", {}).get(name, default)
    return default


def target(value, attribute="Arn"):
    """The logical id in {"Fn::GetAtt": [id, attribute]} or {"Ref": id}, else None."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            logical, attr = value["Fn::GetAtt"] if isinstance(value["Fn::GetAtt"], list) \
                else value["Fn::GetAtt"].split(".", 1)
            return logical if attr == attribute else None
        if "Ref" in value and attribute == "Ref":
            return value["Ref"]
    return None


def crates(root=ROOT):
    """Function crate folder name -> the binary names it builds."""
    found = {}
    for manifest in sorted((root / "functions").glob("*/Cargo.toml")):
        data = tomllib.loads(manifest.read_text())
        bins = [b["name"] for b in data.get("bin", [])]
        if not bins and (manifest.parent / "src/main.rs").exists():
            bins = [data["package"]["name"]]
        found[manifest.parent.name] = bins
    return found


def binary(resource):
    return resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")


def check_functions_match_crates(template, crate_bins):
    problems = []
    functions = resources(template, FUNCTION)
    built = {}
    for name, fn in functions.items():
        meta = fn.get("Metadata", {})
        if meta.get("BuildMethod") != "rust-cargolambda":
            problems.append(f"{name}: Metadata.BuildMethod is not rust-cargolambda")
        if fn.get("Properties", {}).get("CodeUri") != "..":
            problems.append(f"{name}: CodeUri must be the workspace root (..)")
        if prop(template, fn, "Runtime") != "provided.al2023":
            problems.append(f"{name}: Runtime is not provided.al2023")
        if prop(template, fn, "Architectures") != ["arm64"]:
            problems.append(f"{name}: Architectures is not [arm64]")
        owner = [c for c, bins in crate_bins.items() if binary(fn) in bins]
        if not owner:
            problems.append(f"{name}: Binary {binary(fn)!r} is not built by any crate in functions/")
        built[binary(fn)] = name
    for crate, bins in crate_bins.items():
        if not any(b in built for b in bins):
            problems.append(f"functions/{crate}: no AWS::Serverless::Function builds {bins}")
    return problems


def sqs_event_sources(template):
    """(function id, function, event id, event properties) for every SQS trigger."""
    for name, fn in resources(template, FUNCTION).items():
        for event_id, event in fn.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") == "SQS":
                yield name, fn, event_id, event.get("Properties", {})


def check_sqs_event_sources(template):
    problems = []
    queues = resources(template, QUEUE)
    for name, fn, event_id, props in sqs_event_sources(template):
        where = f"{name}.Events.{event_id}"
        if "ReportBatchItemFailures" not in props.get("FunctionResponseTypes", []):
            problems.append(f"{where}: FunctionResponseTypes lacks ReportBatchItemFailures")
        if not props.get("ScalingConfig", {}).get("MaximumConcurrency"):
            problems.append(f"{where}: no ScalingConfig.MaximumConcurrency")
        queue_id = target(props.get("Queue"))
        if queue_id not in queues:
            problems.append(f"{where}: Queue is not !GetAtt <a queue of this template>.Arn")
            continue
        queue_props = queues[queue_id].get("Properties", {})
        visibility = queue_props.get("VisibilityTimeout", 30)
        timeout = prop(template, fn, "Timeout", 3)
        # The consumer marks an item failed on the queue's last delivery, so it must know it.
        max_receives = (queue_props.get("RedrivePolicy") or {}).get("maxReceiveCount")
        told = fn.get("Properties", {}).get("Environment", {}).get("Variables", {}).get("MAX_RECEIVE_COUNT")
        if max_receives is not None and str(told) != str(max_receives):
            problems.append(
                f"{name}: MAX_RECEIVE_COUNT {told} is not {queue_id}'s maxReceiveCount {max_receives}")
        if int(visibility) < 6 * int(timeout):
            problems.append(
                f"{queue_id}: VisibilityTimeout {visibility} < 6 x {name} Timeout {timeout}")
    return problems


def dead_letter_queues(template):
    """Source queue id -> its DLQ id (None when the redrive does not name a queue here)."""
    out = {}
    for name, queue in resources(template, QUEUE).items():
        redrive = queue.get("Properties", {}).get("RedrivePolicy")
        if redrive is not None:
            out[name] = target(redrive.get("deadLetterTargetArn"))
    return out


def check_queues_have_dlqs(template):
    problems = []
    queues = resources(template, QUEUE)
    redrives = dead_letter_queues(template)
    dlqs = set(redrives.values())
    for name, queue in queues.items():
        if name in dlqs:
            continue
        props = queue.get("Properties", {})
        if name not in redrives:
            problems.append(f"{name}: no RedrivePolicy (every work queue needs a DLQ)")
            continue
        dlq = redrives[name]
        if dlq not in queues:
            problems.append(f"{name}: deadLetterTargetArn is not !GetAtt <a queue here>.Arn")
            continue
        count = props["RedrivePolicy"].get("maxReceiveCount")
        if not isinstance(count, int) or count < 1:
            problems.append(f"{name}: maxReceiveCount must be a positive integer")
        dlq_retention = queues[dlq].get("Properties", {}).get("MessageRetentionPeriod", 345600)
        if int(dlq_retention) < int(props.get("MessageRetentionPeriod", 345600)):
            problems.append(f"{dlq}: keeps messages for less time than {name}")
    for name, queue in queues.items():
        if not queue.get("Properties", {}).get("SqsManagedSseEnabled") and \
                "KmsMasterKeyId" not in queue.get("Properties", {}):
            problems.append(f"{name}: not encrypted (SqsManagedSseEnabled or KmsMasterKeyId)")
    return problems


def check_alarms(template):
    """Every DLQ alarms on visible messages; every function on Errors and Throttles."""
    problems = []
    alarms = [a.get("Properties", {}) for a in resources(template, "AWS::CloudWatch::Alarm").values()]

    def watched(namespace, metric, dimension, attribute):
        return {target(d.get("Value"), attribute)
                for a in alarms if a.get("Namespace") == namespace and a.get("MetricName") == metric
                for d in a.get("Dimensions", []) if d.get("Name") == dimension}

    dlq_alarmed = watched("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "QueueName")
    for dlq in sorted(set(dead_letter_queues(template).values()) - {None}):
        if dlq not in dlq_alarmed:
            problems.append(f"{dlq}: no ApproximateNumberOfMessagesVisible alarm")
    for metric in ("Errors", "Throttles"):
        alarmed = watched("AWS/Lambda", metric, "FunctionName", "Ref")
        for name in resources(template, FUNCTION):
            if name not in alarmed:
                problems.append(f"{name}: no {metric} alarm")
    return problems


def check_logging(template):
    problems = []
    groups = resources(template, "AWS::Logs::LogGroup")
    for name, fn in resources(template, FUNCTION).items():
        logging = {**template.get("Globals", {}).get("Function", {}).get("LoggingConfig", {}),
                   **fn.get("Properties", {}).get("LoggingConfig", {})}
        if logging.get("LogFormat") != "JSON":
            problems.append(f"{name}: LoggingConfig.LogFormat is not JSON")
        group = target(logging.get("LogGroup"), "Ref")
        if group not in groups:
            problems.append(f"{name}: LoggingConfig.LogGroup is not a log group of this template")
        elif "RetentionInDays" not in groups[group].get("Properties", {}):
            problems.append(f"{group}: no RetentionInDays")
    return problems


def check_streaming_routes(template):
    """/chat and friends must stream (responseTransferMode STREAM) wherever they are defined."""
    problems = []
    for name, api in resources(template, "AWS::Serverless::Api").items():
        paths = api.get("Properties", {}).get("DefinitionBody", {}).get("paths", {})
        for path in STREAMING_PATHS:
            for method, op in paths.get(path, {}).items():
                integration = op.get("x-amazon-apigateway-integration", {})
                if integration.get("responseTransferMode") != "STREAM":
                    problems.append(f"{name} {method.upper()} {path}: responseTransferMode is not STREAM")
    for name, fn in resources(template, FUNCTION).items():
        for event_id, event in fn.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") == "Api" and event.get("Properties", {}).get("Path") in STREAMING_PATHS:
                problems.append(f"{name}.Events.{event_id}: streaming routes belong in the Api "
                                "DefinitionBody with responseTransferMode STREAM")
    return problems


def policy_documents(cfn):
    """(where, policy document) for every identity and resource policy in a CFN template."""
    for name, res in cfn.get("Resources", {}).items():
        props = res.get("Properties", {})
        kind = res.get("Type")
        if kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{name}.{policy.get('PolicyName')}", policy.get("PolicyDocument", {})
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy",
                      "AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
            yield name, props.get("PolicyDocument", {})


def as_list(value):
    return value if isinstance(value, list) else [value]


def check_iam(cfn):
    """Named actions only; Data API and database secrets only on this template's own."""
    problems = []
    clusters = set(resources(cfn, "AWS::RDS::DBCluster"))
    secrets = set(resources(cfn, "AWS::SecretsManager::Secret"))
    for where, document in policy_documents(cfn):
        for i, statement in enumerate(as_list(document.get("Statement", []))):
            here = f"{where} statement {statement.get('Sid', i)}"
            if statement.get("Effect") != "Allow":
                continue  # a Deny only takes access away
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{here}: Allow with NotAction/NotResource")
            actions = as_list(statement.get("Action", []))
            for action in actions:
                if not isinstance(action, str) or "*" in action:
                    problems.append(f"{here}: wildcard action {action!r}")
            resources_ = as_list(statement.get("Resource", []))
            if any(a.startswith("rds-data:") for a in actions if isinstance(a, str)):
                for r in resources_:
                    if target(r, "DBClusterArn") not in clusters:
                        problems.append(f"{here}: rds-data on {r!r}, not this template's cluster")
            if "secretsmanager:GetSecretValue" in actions:
                for r in resources_:
                    own = target(r, "MasterUserSecret.SecretArn") in clusters or \
                        target(r, "Ref") in secrets
                    if not own:
                        problems.append(f"{here}: GetSecretValue on {r!r}, not a secret of this template")
    for name, role in resources(cfn, "AWS::IAM::Role").items():
        for entry in role.get("Properties", {}).get("ManagedPolicyArns", []):
            for arn in branches(entry):
                if arn not in ALLOWED_MANAGED_POLICIES:
                    problems.append(f"{name}: managed policy {arn!r} is broader than its function needs")
    return problems


def branches(value):
    """The values an entry can take: both sides of an Fn::If, nothing for AWS::NoValue."""
    if isinstance(value, dict):
        if "Fn::If" in value:
            _, yes, no = value["Fn::If"]
            return branches(yes) + branches(no)
        if value.get("Ref") == "AWS::NoValue":
            return []
        return [repr(dict(value))]
    return [value]


def fixture_shapes(events):
    """The trigger kinds a set of event fixtures covers."""
    kinds = set()
    for event in events:
        records = event.get("Records") or [{}]
        if records[0].get("eventSource") == "aws:sqs":
            kinds.add("SQS")
        if "httpMethod" in event and "requestContext" in event:
            kinds.add("Api")
        if event.get("RequestType") in ("Create", "Update", "Delete") and "ResponseURL" in event:
            kinds.add("CustomResource")
        if event.get("detail-type") == "Scheduled Event" or event.get("source") == "aws.scheduler":
            kinds.add("Schedule")
    return kinds


def check_event_fixtures(template, root=ROOT):
    """Each function has events/<binary>/*.json covering the shape of each of its triggers."""
    problems = []
    custom = resources_by_service_token(template)
    for name, fn in resources(template, FUNCTION).items():
        files = sorted((root / "events" / str(binary(fn))).glob("*.json"))
        if not files:
            problems.append(f"{name}: no events/{binary(fn)}/*.json fixture")
            continue
        events = [json.loads(f.read_text()) for f in files]
        covered = fixture_shapes(events)
        wanted = {e.get("Type") for e in fn.get("Properties", {}).get("Events", {}).values()}
        wanted = {"Schedule" if w in ("Schedule", "ScheduleV2") else w for w in wanted}
        if name in custom:
            wanted.add("CustomResource")
        for kind in sorted(wanted & {"SQS", "Api", "CustomResource", "Schedule"} - covered):
            problems.append(f"{name}: no events/{binary(fn)}/*.json has the {kind} event shape")
        for kind, props in custom.get(name, []):
            for event in events:
                if event.get("ResourceType") not in (None, kind):
                    problems.append(f"{name}: fixture ResourceType {event['ResourceType']!r} != {kind}")
                sent = set(event.get("ResourceProperties", {}) or {}) if "RequestType" in event else None
                if sent is not None and not set(props) <= sent:
                    problems.append(f"{name}: fixture ResourceProperties lack {sorted(set(props) - sent)}")
    return problems


def resources_by_service_token(template):
    """Function id -> [(custom resource type, property names)] it serves."""
    out = {}
    for res in template.get("Resources", {}).values():
        if str(res.get("Type", "")).startswith("Custom::"):
            props = res.get("Properties", {})
            fn = target(props.get("ServiceToken"))
            out.setdefault(fn, []).append((res["Type"], set(props) - {"ServiceTimeout"}))
    return out


def check_migrations_run_every_deploy(template):
    """The migrations custom resource changes with db-init's code and with DeployNonce."""
    problems = []
    found = False
    for name, res in resources(template, "Custom::DatabaseMigrations").items():
        found = True
        props = res.get("Properties", {})
        fn = target(props.get("ServiceToken"))
        versions = [v for v in props.values() if target(v, "Ref") == f"{fn}.Version"]
        if not versions:
            problems.append(f"{name}: no property references !Ref {fn}.Version")
        if not any(target(v, "Ref") == "DeployNonce" for v in props.values()):
            problems.append(f"{name}: no DeployNonce property")
        if res.get("DependsOn") is None:
            problems.append(f"{name}: must DependsOn the database writer instance")
    if not found:
        problems.append("no Custom::DatabaseMigrations resource")
    return problems


def check_fixtures_are_loaded(template, root=ROOT):
    """Some test (Rust or Python) loads each function's events/<binary>/ fixtures."""
    own = {Path(__file__).name, "test_template.py"}  # these name fixtures without loading them
    sources = [p.read_text(errors="replace") for folder in ("tests", "functions", "local")
               for pattern in ("*.rs", "*.py") for p in (root / folder).rglob(pattern)
               if "target" not in p.parts and p.name not in own]
    problems = []
    for name, fn in resources(template, FUNCTION).items():
        needle = f"events/{binary(fn)}/"
        if not any(needle in text for text in sources):
            problems.append(f"{name}: no test loads {needle}*.json")
    return problems
