#!/usr/bin/env bash
# Lints the infrastructure: the SAM template (sam validate --lint, cfn-lint), the stack as
# CloudFormation will receive it (template.yaml expanded by the SAM translator, then cfn-lint,
# for several parameter sets), checkov, and the Step Functions state machines (asl-validator).
# Needs no AWS credentials and no network.
# Tools come from the project's .venv and .tools (scripts/setup.sh), else from PATH.
# Exits non-zero if any check fails or reports a warning.
#
# Environment: LINT_OUT_DIR=DIR keeps the expanded templates there (default: a temporary
# directory, removed on exit).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TEMPLATE="template.yaml"
# sam validate needs a region to expand pseudo parameters; no call to AWS is made.
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export SAM_CLI_TELEMETRY=0

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# tool NAME [FALLBACK_DIR]: the project's copy if installed, else the one on PATH.
tool() {
    local name="$1" local_dir="$2"
    if [[ -x "$local_dir/$name" ]]; then
        echo "$local_dir/$name"
    elif command -v "$name" >/dev/null 2>&1; then
        command -v "$name"
    fi
}

SAM="$(tool sam "$ROOT/.venv/bin")"
CFN_LINT="$(tool cfn-lint "$ROOT/.venv/bin")"
ASL_VALIDATOR="$(tool asl-validator "$ROOT/.tools/node_modules/.bin")"
# checkov lives in its own virtualenv (its pins conflict with moto's and boto3's in .venv).
CHECKOV="$(tool checkov "$ROOT/.tools/checkov/bin")"
# The translator (aws-sam-translator) and SAM's YAML loader come with aws-sam-cli in .venv.
PY="$ROOT/.venv/bin/python"
[[ -x "$PY" ]] || PY="$(command -v python3 || true)"
PARAMS_FILE="local/localcloud/parameters.json"

if [[ -n "${LINT_OUT_DIR:-}" ]]; then
    OUT="$LINT_OUT_DIR"
    mkdir -p "$OUT"
else
    OUT="$(mktemp -d "${TMPDIR:-/tmp}/mlpipe-lint.XXXXXX")"
    trap 'rm -rf "$OUT"' EXIT
fi

# ------------------------------------------------------------------ SAM template
echo "==> sam validate --lint ($TEMPLATE, region $REGION)"
if [[ -z "$SAM" ]]; then
    fail "sam not found (run scripts/setup.sh, or pip install aws-sam-cli)"
elif ! "$SAM" validate --lint --template "$TEMPLATE" --region "$REGION"; then
    fail "sam validate --lint"
fi

echo "==> cfn-lint $TEMPLATE"
if [[ -z "$CFN_LINT" ]]; then
    fail "cfn-lint not found (run scripts/setup.sh, or pip install cfn-lint)"
else
    # cfn-lint exits non-zero on errors (2) and on warnings (4); both fail the lint.
    if "$CFN_LINT" --version >/dev/null 2>&1; then
        echo "    ($("$CFN_LINT" --version 2>&1))"
    fi
    if ! "$CFN_LINT" --regions "$REGION" -- "$TEMPLATE"; then
        fail "cfn-lint"
    else
        echo "    no errors, no warnings"
    fi
fi

# -------------------------------------------- the stack as CloudFormation receives it
# cfn-lint on template.yaml misses what only the expanded stack shows (e.g. a circular
# dependency through a bucket notification, E3004). So: expand with the SAM translator as
# `sam deploy` does, then lint the JSON, once per parameter set:
#   defaults   no parameter at all (what `sam deploy --guided` creates when every default is kept)
#   all        local/localcloud/parameters.json: every pipeline switched on
#   genesys    the Genesys pipeline alone (image pipeline off)
#   segment    the Segment pipeline alone
#   recs       the recommendations endpoint alone
#   legacy     the image pipeline on a legacy model (Nova Canvas: the other IAM branch)
# For each: scripts/lib/check_parameters.py refuses values CloudFormation would refuse
# (AllowedPattern, Min/Max, Rules: cfn-lint checks only AllowedValues) and requires a Condition
# on every expanded resource and output (every pipeline is optional); cfn-lint gets the values
# with --parameters (a list of K=V; --parameter-files wants CloudFormation's
# [{ParameterKey, ParameterValue}] format), so Refs resolve to them and conditions follow them.
#
# --ignore-checks W1028 (unreachable Fn::If branch), on the expanded JSON only: for a function
# with a Condition, the translator wraps what it generates from the function's events (the API
# routes, the bucket's LambdaConfigurations and its sam:ConditionalDependsOn tag) in
# Fn::If [<that condition>, ..., AWS::NoValue] inside resources that carry the same Condition,
# so the else branch is unreachable by construction and not in our hands. The cfn-lint run on
# template.yaml above keeps W1028 for the branches we write.
GENESYS_BUS="aws.partner/genesys.com/cloud/00000000-0000-0000-0000-000000000000/mlpipe-lint"
TRACKER="arn:aws:personalize:us-east-1:123456789012:event-tracker/mlpipe-lint"
CAMPAIGN="arn:aws:personalize:us-east-1:123456789012:campaign/mlpipe-lint"
variant_args() {
    case "$1" in
    defaults) ;;
    all) printf '%s\n' --params "$PARAMS_FILE" ;;
    genesys) printf '%s\n' --param DeployImagePipeline=false --param "GenesysEventBusName=$GENESYS_BUS" ;;
    segment) printf '%s\n' --param DeployImagePipeline=false --param "PersonalizeEventTrackerArn=$TRACKER" \
        --param PersonalizeTrackingId=mlpipe-lint --param SegmentExternalId=mlpipe-lint-external-id ;;
    recs) printf '%s\n' --param DeployImagePipeline=false --param "PersonalizeCampaignArn=$CAMPAIGN" ;;
    legacy) printf '%s\n' --param ImageModelId=amazon.nova-canvas-v1:0 ;;
    esac
}
# The same values as cfn-lint --parameters K=V ... (file values first, --param overrides).
cfn_lint_parameters() {
    "$PY" - "$@" <<'PYEOF'
import json, sys
args, values = sys.argv[1:], {}
while args:
    flag, value = args.pop(0), args.pop(0)
    if flag == "--params":
        with open(value, encoding="utf-8") as f:
            values.update({k: v for k, v in json.load(f).items() if not k.startswith("$")})
    else:
        key, _, val = value.partition("=")
        values[key] = val
for key, val in values.items():
    print(f"{key}={val}")
PYEOF
}

echo "==> expanded template: SAM translator, parameter check, cfn-lint (files in $OUT)"
if [[ -z "$PY" ]] || ! "$PY" -c 'import samtranslator, samcli' >/dev/null 2>&1; then
    fail "aws-sam-translator / aws-sam-cli not importable by ${PY:-python3} (run scripts/setup.sh)"
elif [[ -z "$CFN_LINT" ]]; then
    fail "cfn-lint not found (run scripts/setup.sh, or pip install cfn-lint)"
else
    for variant in defaults all genesys segment recs legacy; do
        mapfile -t args < <(variant_args "$variant")
        expanded="$OUT/template.$variant.json"
        echo "--> $variant ${args[*]}"
        if ! AWS_DEFAULT_REGION="$REGION" "$PY" scripts/lib/expand_template.py "${args[@]}" --out "$expanded"; then
            fail "expand_template ($variant)"
            continue
        fi
        if ! "$PY" scripts/lib/check_parameters.py "${args[@]}" --expanded "$expanded"; then
            fail "check_parameters ($variant)"
        fi
        mapfile -t values < <(cfn_lint_parameters "${args[@]}")
        lint_args=(--regions "$REGION" --ignore-checks W1028)
        if ((${#values[@]} > 0)); then
            lint_args+=(--parameters "${values[@]}")
        fi
        if ! "$CFN_LINT" "${lint_args[@]}" -- "$expanded"; then
            fail "cfn-lint on the expanded template ($variant)"
        else
            echo "    cfn-lint: no errors, no warnings"
        fi
    done
fi

# ---------------------------------------------------------------------------- checkov
# Fails on any failed check. Every skip sits in the resource's Metadata (checkov: skip: [{id,
# comment}]) and must carry its reason. --skip-download: no call to the Prisma Cloud API.
echo "==> checkov $TEMPLATE"
if [[ -z "$CHECKOV" ]]; then
    fail "checkov not found (run scripts/setup.sh; expected .tools/checkov/bin/checkov)"
else
    if ! "$PY" - "$TEMPLATE" <<'PYEOF'; then
import sys
from samcli.yamlhelper import yaml_parse
template = yaml_parse(open(sys.argv[1], encoding="utf-8").read())
bad = [
    f"{name}: skip {skip.get('id')!r} has no comment"
    for name, resource in (template.get("Resources") or {}).items()
    for skip in (((resource.get("Metadata") or {}).get("checkov") or {}).get("skip") or [])
    if not str(skip.get("comment") or "").strip()
]
for line in bad:
    print(f"    {line}", file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
        fail "checkov skips without a reason"
    fi
    if ! BC_SKIP_MAPPING=TRUE "$CHECKOV" --file "$TEMPLATE" --framework cloudformation --skip-download \
        --quiet --compact; then
        fail "checkov (fix the check, or skip it in the resource's Metadata with the reason)"
    fi
fi

# ------------------------------------------------------------ state machines (ASL)
shopt -s nullglob
machines=(statemachines/*.asl.json)
shopt -u nullglob
echo "==> asl-validator (${#machines[@]} state machine(s))"
if ((${#machines[@]} == 0)); then
    echo "    no statemachines/*.asl.json yet: skipped"
elif [[ -z "$ASL_VALIDATOR" ]]; then
    fail "asl-validator not found (run scripts/setup.sh; expected .tools/node_modules/.bin/asl-validator)"
else
    for machine in "${machines[@]}"; do
        echo "    $machine"
        if ! "$ASL_VALIDATOR" --json-path "$machine"; then
            fail "asl-validator $machine"
        fi
    done
fi

if ((failures > 0)); then
    echo "lint: $failures check(s) failed" >&2
    exit 1
fi
echo "lint: all checks passed"
