#!/usr/bin/env python3
"""Expands template.yaml into the CloudFormation JSON that `sam deploy` submits, offline.

    expand_template.py [--template template.yaml] [--params FILE] [--param K=V ...] --out FILE

Uses the official SAM translator (package aws-sam-translator, the one inside the SAM CLI), as
`sam deploy` does before CloudFormation sees the stack. Code and definition locations are
rewritten first, as `sam package` would upload them:

- a function's `CodeUri` becomes `s3://mlpipe-local-artifacts/code/<LogicalId>.zip` (the local
  cloud runs the binary named in the function's `Metadata.BuildProperties.Binary`);
- a state machine's `DefinitionUri` becomes `s3://mlpipe-local-artifacts/<DefinitionUri>` (the
  local cloud reads the file at that relative path).

The output is the expanded template itself (Parameters, Rules, Conditions, Resources, Outputs),
with the parameter values used written beside it under `"LocalParameterValues"` only when
`--with-values` is given (cfn-lint reads the plain template).

--params FILE is a JSON object of parameter values; --param K=V adds or overrides one.
--without-statement SID (repeatable) removes the IAM policy statement with that Sid from every
resource's policies first: the local cloud's proof that a missing permission fails as on AWS.
"""

import argparse
import copy
import json
import os
import sys

from template_args import add_parameter_arguments, load_yaml, parameter_values

ARTIFACTS = "s3://mlpipe-local-artifacts/"


class NoManagedPolicies:
    """The translator asks for managed policy ARNs by name only for policy templates that name
    AWS managed policies without an ARN; this template gives ARNs, so nothing is looked up."""

    def load(self):
        return {}


def rewrite_locations(template):
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = f"{ARTIFACTS}code/{logical_id}.zip"
        if kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["DefinitionUri"] = ARTIFACTS + props["DefinitionUri"]
    globals_function = (template.get("Globals") or {}).get("Function") or {}
    if isinstance(globals_function.get("CodeUri"), str):
        globals_function["CodeUri"] = ARTIFACTS + "code"


def remove_statements(template, sids):
    """Removes the policy statements whose Sid is in `sids`; fails on a Sid that is not there."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            statements = node.get("Statement")
            if isinstance(statements, list):
                kept = [st for st in statements if not (isinstance(st, dict) and st.get("Sid") in sids)]
                found.update(st.get("Sid") for st in statements if isinstance(st, dict) and st.get("Sid") in sids)
                node["Statement"] = kept
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template.get("Resources", {}))
    missing = sorted(set(sids) - found)
    if missing:
        raise SystemExit(f"expand_template: no policy statement with Sid {', '.join(missing)}")


def expand(template, params):
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(template)
    rewrite_locations(template)
    return transform(template, params, NoManagedPolicies())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_parameter_arguments(parser)
    parser.add_argument("--without-statement", action="append", default=[], metavar="SID", help="remove the policy statement with this Sid")
    parser.add_argument("--with-values", action="store_true", help="write the values used under LocalParameterValues")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    params = parameter_values(args, parser)

    template = load_yaml(args.template)
    if args.without_statement:
        remove_statements(template, set(args.without_statement))
    unknown = sorted(set(params) - set(template.get("Parameters", {})))
    if unknown:
        print(f"expand_template: unknown parameter(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    try:
        expanded = expand(template, params)
    except Exception as e:  # the translator's InvalidDocumentException lists every cause
        causes = getattr(e, "causes", None)
        print(f"expand_template: the SAM translator refused {args.template}: {e}", file=sys.stderr)
        for cause in causes or []:
            print(f"  - {getattr(cause, 'message', cause)}", file=sys.stderr)
        return 1
    if args.with_values:
        expanded["LocalParameterValues"] = params
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(expanded, f, indent=1, sort_keys=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
