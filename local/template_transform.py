"""Turns a SAM template into plain CloudFormation JSON, as `sam deploy` has AWS do it.

Reads the template path from argv[1] and a JSON object of parameter values from argv[2];
prints the CloudFormation template as JSON. A template without a `Transform` is passed
through (its YAML short tags such as !Ref decoded). No AWS calls: managed policy names
resolve through the static map cfn-lint ships. Run by studio-local with the stack's venv.
"""

import json
import logging
import os
import sys

from cfnlint.data import Serverless
from cfnlint.decode import decode
from cfnlint.helpers import load_resource

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# The translator refuses local paths: the code is built and run by the local stack, so any
# S3 location stands in for it.
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


def fail(message):
    sys.stderr.write(message + "\n")
    sys.exit(1)


def plain(value):
    """cfn-lint's nodes (dict_node, str_node...) as plain Python values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def transforms_of(template):
    transform = template.get("Transform", [])
    return transform if isinstance(transform, list) else [transform]


def replace_local_code(template):
    for resource in template.get("Resources", {}).values():
        key = CODE_PROPERTIES.get(resource.get("Type"))
        properties = resource.get("Properties")
        if key and isinstance(properties, dict) and properties.get("PackageType") != "Image":
            uri = properties.get(key)
            if not (isinstance(uri, str) and uri.startswith("s3://")):
                properties[key] = "s3://studio-local/code"


def sam_transform(template, parameters):
    # The ARN generator reads the region from the environment (no AWS call).
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    logging.getLogger("samtranslator").setLevel(logging.CRITICAL)
    from samtranslator.parser import parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    metadata = {
        logical_id: resource["Metadata"]
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function" and "Metadata" in resource
    }
    replace_local_code(template)
    translator = Translator(
        managed_policy_map=load_resource(Serverless, "ManagedPolicies.json"),
        sam_parser=parser.Parser(),
    )
    try:
        output = translator.translate(
            sam_template=template, parameter_values=parameters, passthrough_metadata=True
        )
    except InvalidDocumentException as error:
        fail("the SAM transform failed: " + "; ".join(cause.message for cause in error.causes))
    # The function keeps its Metadata (BuildProperties.Binary) whatever the translator does.
    for logical_id, data in metadata.items():
        resource = output.get("Resources", {}).get(logical_id)
        if resource is not None and "Metadata" not in resource:
            resource["Metadata"] = data
    return output


def main():
    if len(sys.argv) != 3:
        fail("usage: template_transform.py TEMPLATE PARAMETERS_JSON")
    template, matches = decode(sys.argv[1])
    if template is None:
        fail("cannot read the template: " + "; ".join(str(m) for m in matches))
    template = plain(template)
    transforms = transforms_of(template)
    if SAM_TRANSFORM in transforms:
        template = sam_transform(template, json.loads(sys.argv[2]))
    other = [t for t in transforms if t != SAM_TRANSFORM]
    if other:
        fail("transforms other than " + SAM_TRANSFORM + " are not supported: " + ", ".join(map(str, other)))
    json.dump(template, sys.stdout)


if __name__ == "__main__":
    main()
