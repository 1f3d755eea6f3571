#!/usr/bin/env python3
"""Checks parameter values against template.yaml as CloudFormation does before it creates anything.

    check_parameters.py [--template template.yaml] [--params FILE] [--param K=V ...] [--expanded FILE]

cfn-lint given `--parameters` resolves `Ref`s with the values and checks `AllowedValues`, but
not `AllowedPattern`, `MinLength`/`MaxLength`, `MinValue`/`MaxValue`, required parameters
(no `Default`) or the template's `Rules`. This script checks exactly those, then prints which
`Conditions` the values switch on. Exit status 1 lists every refusal.

--params FILE is a JSON object of parameter values (keys starting with "$" are comments);
--param K=V adds or overrides one. Without either, every parameter takes its Default.

--expanded FILE (the template expanded by expand_template.py with the same values) also requires
that every resource and output carries a Condition, since every pipeline is optional and so is
everything in the stack, and prints how many of them these values create.
"""

import argparse
import json
import re
import sys

from template_args import add_parameter_arguments, load_yaml, parameter_values


class Evaluator:
    """Fn::Equals / Not / And / Or / Contains / If, Condition and Ref over parameter values."""

    def __init__(self, template, values):
        self.values = values
        self.conditions = template.get("Conditions") or {}
        self.cache = {}

    def condition(self, name):
        if name not in self.cache:
            self.cache[name] = bool(self.eval(self.conditions[name]))
        return self.cache[name]

    def eval(self, node):
        if isinstance(node, list):
            return [self.eval(n) for n in node]
        if not isinstance(node, dict):
            return node if isinstance(node, str) else json.dumps(node)
        if len(node) != 1:
            raise ValueError(f"cannot evaluate {node!r}")
        (fn, arg), = node.items()
        if fn == "Ref":
            if arg in self.values:
                return self.values[arg]
            raise ValueError(f"Ref {arg!r} is not a parameter")
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::Equals":
            left, right = (self.eval(a) for a in arg)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not self.eval(arg[0])
        if fn == "Fn::And":
            return all(self.eval(a) for a in arg)
        if fn == "Fn::Or":
            return any(self.eval(a) for a in arg)
        if fn == "Fn::Contains":
            haystack, needle = self.eval(arg[0]), self.eval(arg[1])
            return needle in haystack
        if fn == "Fn::If":
            return self.eval(arg[1] if self.condition(arg[0]) else arg[2])
        raise ValueError(f"cannot evaluate {fn}")


def check_value(name, spec, value):
    problems = []
    kind = spec.get("Type", "String")
    text = str(value)
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            return [f"{name}={text!r}: not a number"]
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"{name}={text}: below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"{name}={text}: above MaxValue {spec['MaxValue']}")
    if "AllowedValues" in spec and text not in [str(v) for v in spec["AllowedValues"]]:
        problems.append(f"{name}={text!r}: not one of {spec['AllowedValues']}")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], text):
        problems.append(f"{name}={text!r}: does not match AllowedPattern {spec['AllowedPattern']}")
    if "MinLength" in spec and len(text) < int(spec["MinLength"]):
        problems.append(f"{name}: shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
        problems.append(f"{name}: longer than MaxLength {spec['MaxLength']}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_parameter_arguments(parser)
    parser.add_argument("--expanded", help="expanded template (JSON) to check for unconditioned resources")
    args = parser.parse_args()

    given = parameter_values(args, parser)

    template = load_yaml(args.template)
    specs = template.get("Parameters") or {}
    problems = [f"{k}: not a parameter of {args.template}" for k in sorted(set(given) - set(specs))]
    values = {}
    for name, spec in specs.items():
        if name in given:
            values[name] = str(given[name])
        elif "Default" in spec:
            values[name] = str(spec["Default"])
        else:
            problems.append(f"{name}: required (no Default) but not given")
            continue
        problems.extend(check_value(name, spec, values[name]))
    values.update({"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"})

    evaluator = Evaluator(template, values)
    if not problems:
        for rule_name, rule in (template.get("Rules") or {}).items():
            if "RuleCondition" in rule and not evaluator.eval(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions") or []:
                if not evaluator.eval(assertion["Assert"]):
                    problems.append(f"rule {rule_name}: {assertion.get('AssertDescription', 'assertion failed')}")

    created = None
    if args.expanded and not problems:
        with open(args.expanded, encoding="utf-8") as f:
            expanded = json.load(f)
        evaluator = Evaluator(expanded, values)
        created = {}
        for section in ("Resources", "Outputs"):
            entries = expanded.get(section) or {}
            for logical_id, entry in entries.items():
                condition = entry.get("Condition")
                if condition is None:
                    problems.append(f"{section} {logical_id}: no Condition (created whatever the pipeline switches say)")
                elif condition not in (expanded.get("Conditions") or {}):
                    problems.append(f"{section} {logical_id}: unknown Condition {condition!r}")
            created[section] = (
                sum(1 for e in entries.values() if e.get("Condition") in evaluator.conditions and evaluator.condition(e["Condition"])),
                len(entries),
            )

    if problems:
        for problem in problems:
            print(f"check_parameters: {problem}", file=sys.stderr)
        return 1
    on = [name for name in (template.get("Conditions") or {}) if evaluator.condition(name)]
    print(f"    values accepted; conditions true: {', '.join(on) or '(none)'}")
    if created:
        print("    creates {} of {} resources and {} of {} outputs".format(*created["Resources"], *created["Outputs"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
