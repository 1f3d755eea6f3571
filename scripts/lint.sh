#!/usr/bin/env bash
# Lints the infrastructure: the SAM template (sam validate --lint, cfn-lint) and the
# Step Functions state machines (asl-validator). Needs no AWS credentials.
# Tools come from the project's .venv and .tools (scripts/setup.sh), else from PATH.
# Exits non-zero if any check fails or reports a warning.
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
