"""What the template scripts of scripts/lib share: reading template.yaml with SAM's own loader,
and the parameter values given as --params FILE (a JSON object; keys starting with "$" are
comments) and --param K=V (repeatable, overriding)."""

import json


def load_yaml(path):
    # SAM's loader understands the short intrinsic forms (!Ref, !Sub, ...).
    from samcli.yamlhelper import yaml_parse

    with open(path, encoding="utf-8") as f:
        return yaml_parse(f.read())


def add_parameter_arguments(parser):
    parser.add_argument("--template", default="template.yaml")
    parser.add_argument("--params", help="JSON object of parameter values")
    parser.add_argument("--param", action="append", default=[], help="K=V, repeatable")


def parameter_values(args, parser):
    values = {}
    if args.params:
        with open(args.params, encoding="utf-8") as f:
            values.update({k: v for k, v in json.load(f).items() if not k.startswith("$")})
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--param {item!r}: expected K=V")
        values[key] = value
    return values
