//! The resolver on small inline templates: each intrinsic, conditions, NoValue, parameters.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Template;

const MOTO: &str = "http://127.0.0.1:4566";

fn load(template: Value, overrides: &[(&str, &str)]) -> anyhow::Result<Template> {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Template::from_cloudformation(&template, "demo", &overrides)
}

/// The environment of a function `Fn` whose variables are `variables`, resolved.
fn environment(extra: Value, variables: Value) -> anyhow::Result<BTreeMap<String, String>> {
    let mut template = json!({
        "Parameters": {
            "Stage": { "Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"] },
            "Origins": { "Type": "CommaDelimitedList", "Default": "a.example,b.example" }
        },
        "Conditions": { "IsProd": { "Fn::Equals": [{ "Ref": "Stage" }, "prod"] } },
        "Resources": {
            "Fn": { "Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": "fn", "Role": "arn:aws:iam::123456789012:role/none",
                "Environment": { "Variables": variables } } },
            "WorkQueue": { "Type": "AWS::SQS::Queue", "Properties": {} },
            "Docs": { "Type": "AWS::S3::Bucket", "Properties": {} }
        }
    });
    if let (Some(target), Some(extra)) = (template.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            target.insert(key.clone(), value.clone());
        }
    }
    let deployment = load(template, &[])?.deployment(MOTO)?;
    Ok(deployment.functions[0]
        .environment
        .iter()
        .cloned()
        .collect())
}

fn one(value: Value) -> String {
    let env = environment(json!({}), json!({ "V": value })).unwrap();
    env.get("V")
        .cloned()
        .unwrap_or_else(|| "<removed>".to_owned())
}

#[test]
fn ref_gives_parameters_pseudo_parameters_and_resource_ids() {
    assert_eq!(one(json!({ "Ref": "Stage" })), "dev");
    assert_eq!(one(json!({ "Ref": "AWS::Region" })), "us-east-1");
    assert_eq!(one(json!({ "Ref": "AWS::AccountId" })), "123456789012");
    assert_eq!(one(json!({ "Ref": "AWS::StackName" })), "demo");
    assert_eq!(one(json!({ "Ref": "AWS::URLSuffix" })), "amazonaws.com");
    assert_eq!(
        one(json!({ "Ref": "WorkQueue" })),
        "http://127.0.0.1:4566/123456789012/demo-WorkQueue"
    );
    assert_eq!(one(json!({ "Ref": "Docs" })), "demo-docs");
}

#[test]
fn get_att_takes_both_forms() {
    let arn = "arn:aws:sqs:us-east-1:123456789012:demo-WorkQueue";
    assert_eq!(one(json!({ "Fn::GetAtt": "WorkQueue.Arn" })), arn);
    assert_eq!(one(json!({ "Fn::GetAtt": ["WorkQueue", "Arn"] })), arn);
    assert_eq!(
        one(json!({ "Fn::GetAtt": ["Docs", "Arn"] })),
        "arn:aws:s3:::demo-docs"
    );
}

#[test]
fn sub_replaces_names_attributes_and_variables_and_keeps_escaped_literals() {
    assert_eq!(
        one(json!({ "Fn::Sub": "arn:${AWS::Partition}:s3:::${Docs}/${Stage}/*" })),
        "arn:aws:s3:::demo-docs/dev/*"
    );
    assert_eq!(
        one(json!({ "Fn::Sub": "${Docs.Arn}/x" })),
        "arn:aws:s3:::demo-docs/x"
    );
    assert_eq!(
        one(json!({ "Fn::Sub": ["${Who} in ${Stage}", { "Who": { "Ref": "AWS::Region" } }] })),
        "us-east-1 in dev"
    );
    assert_eq!(
        one(json!({ "Fn::Sub": "${!Literal}-${Stage}" })),
        "${Literal}-dev"
    );
}

#[test]
fn join_select_and_split_work_on_lists() {
    assert_eq!(
        one(json!({ "Fn::Join": [";", { "Ref": "Origins" }] })),
        "a.example;b.example"
    );
    assert_eq!(
        one(json!({ "Fn::Select": ["1", { "Ref": "Origins" }] })),
        "b.example"
    );
    assert_eq!(
        one(json!({ "Fn::Select": [0, { "Fn::Split": ["/", "x/y/z"] }] })),
        "x"
    );
}

#[test]
fn if_follows_the_condition_and_no_value_removes_the_entry() {
    assert_eq!(
        one(json!({ "Fn::If": ["IsProd", "big", "small"] })),
        "small"
    );
    assert_eq!(
        one(json!({ "Fn::If": ["IsProd", "big", { "Ref": "AWS::NoValue" }] })),
        "<removed>"
    );
}

#[test]
fn conditions_combine_with_and_or_not_and_condition() {
    let template = json!({
        "Parameters": { "Stage": { "Type": "String", "Default": "dev" } },
        "Conditions": {
            "IsDev": { "Fn::Equals": [{ "Ref": "Stage" }, "dev"] },
            "NotDev": { "Fn::Not": [{ "Condition": "IsDev" }] },
            "Both": { "Fn::And": [{ "Condition": "IsDev" }, { "Fn::Equals": ["1", 1] }] },
            "Either": { "Fn::Or": [{ "Condition": "NotDev" }, { "Condition": "Both" }] }
        },
        "Resources": {
            "OnlyProd": { "Type": "AWS::SQS::Queue", "Condition": "NotDev" },
            "Always": { "Type": "AWS::SQS::Queue" }
        }
    });
    let loaded = load(template, &[]).unwrap();
    assert_eq!(loaded.condition("NotDev"), Some(false));
    assert_eq!(loaded.condition("Both"), Some(true));
    assert_eq!(loaded.condition("Either"), Some(true));
    let queues: Vec<String> = loaded
        .deployment(MOTO)
        .unwrap()
        .queues
        .into_iter()
        .map(|q| q.logical_id)
        .collect();
    assert_eq!(queues, ["Always"]);
}

#[test]
fn an_override_changes_a_parameter_and_lists_split_on_commas() {
    let env = |overrides: &[(&str, &str)]| {
        let template = json!({
            "Parameters": { "Stage": { "Type": "String", "Default": "dev" },
                            "Zones": { "Type": "List<AWS::EC2::Subnet::Id>", "Default": "s-1" } },
            "Resources": {}
        });
        load(template, overrides).unwrap().parameters()
    };
    let parameters = env(&[("Stage", "qa"), ("Zones", "s-1, s-2")]);
    assert_eq!(parameters["Stage"], "qa");
    assert_eq!(parameters["Zones"], "s-1,s-2");
}

#[test]
fn a_required_parameter_without_a_value_is_an_error_naming_it() {
    let template =
        json!({ "Parameters": { "ClusterSize": { "Type": "Number" } }, "Resources": {} });
    let error = load(template, &[]).unwrap_err().to_string();
    assert!(
        error.contains("ClusterSize") && error.contains("no value"),
        "{error}"
    );
}

#[test]
fn a_value_outside_allowed_values_is_an_error() {
    let template = json!({
        "Parameters": { "Stage": { "Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"] } },
        "Resources": {}
    });
    let error = load(template, &[("Stage", "staging")])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Stage") && error.contains("staging") && error.contains("allowed"),
        "{error}"
    );
}

#[test]
fn an_override_of_an_undeclared_parameter_is_an_error() {
    let error = load(json!({ "Resources": {} }), &[("Nope", "1")])
        .unwrap_err()
        .to_string();
    assert!(error.contains("Nope"), "{error}");
}

#[test]
fn an_unsupported_intrinsic_is_an_error_naming_the_resource_and_function() {
    let error = environment(
        json!({}),
        json!({ "V": { "Fn::ImportValue": "shared-vpc" } }),
    )
    .unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("resource Fn") && message.contains("Fn::ImportValue"),
        "{message}"
    );
}

#[test]
fn find_in_map_reads_the_mappings() {
    let env = environment(
        json!({ "Mappings": { "Sizes": { "dev": { "Memory": 256 } } } }),
        json!({ "V": { "Fn::FindInMap": ["Sizes", { "Ref": "Stage" }, "Memory"] } }),
    )
    .unwrap();
    assert_eq!(env["V"], "256");
}
