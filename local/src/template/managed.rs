//! The AWS managed policies a function role commonly carries, as documents, so the policy
//! evaluator sees what they grant (no AWS call to fetch them).

use serde_json::{Value, json};

/// The document of the AWS managed policy `arn`, if it is one known here.
pub fn document(arn: &str) -> Option<Value> {
    let name = arn
        .strip_prefix("arn:aws:iam::aws:policy/")?
        .rsplit('/')
        .next()?;
    let logs = [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ];
    let actions: Vec<&str> = match name {
        "AWSLambdaBasicExecutionRole" => logs.to_vec(),
        "AWSXrayWriteOnlyAccess" => vec![
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:GetSamplingStatisticSummaries",
        ],
        "AWSLambdaSQSQueueExecutionRole" => {
            let mut actions = vec![
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ];
            actions.extend(logs);
            actions
        }
        "AWSLambdaVPCAccessExecutionRole" => {
            let mut actions = vec![
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ];
            actions.extend(logs);
            actions
        }
        "AWSLambdaRole" => vec!["lambda:InvokeFunction"],
        _ => return None,
    };
    Some(json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }],
    }))
}
