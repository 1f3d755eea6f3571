#!/usr/bin/env bash
# THE test command: sets up the tool chain and runs every check, lints included, then the
# end-to-end tests against a freshly started local cloud, which is always taken down at exit.
#
#   scripts/test.sh
#
# Stages (each reported PASS/FAIL/SKIP with its time; the script exits non-zero if any fails):
#   setup        scripts/setup.sh (idempotent: seconds once installed); runs beside fmt and
#                clippy, which need only cargo, and is waited for before unit
#   fmt          cargo fmt --all --check
#   clippy       cargo clippy --workspace --all-targets -- -D warnings
#   unit         cargo test --workspace --exclude integration-tests (unit, handler, CLI tests)
#   lint         scripts/lint.sh (sam validate --lint, cfn-lint on template.yaml and on the
#                template expanded by the SAM translator, checkov, asl-validator); runs beside
#                unit (it compiles nothing) and is waited for before it-build
#   it-build     scripts/localcloud.sh build: one workspace build of every binary (functions,
#                local cloud, emulator, mlpipe) and of the tests, before the local cloud starts
#   localcloud   scripts/localcloud.sh down + up: template.yaml expanded and deployed into moto
#                with IAM enforced, each function under its own role
#   integration  the integration tests (tests/tests/*.rs), with `scripts/localcloud.sh env`
#   iam          a second local cloud deployed from template.yaml without three policy
#                statements; the pipelines fail with AccessDenied (tests/tests/iam_enforced.rs)
#
# Environment:
#   TEST_SKIP="clippy lint"     stages to skip (names as above)
#   TEST_KEEP_LOCALCLOUD=1      leave the local cloud running at exit (to debug a failure)
#   TEST_THREADS=8              parallel integration tests (they mostly wait on the pipeline)
#   INTEGRATION_TIMEOUT_SECS=60 how long an integration test waits for the pipeline
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TEST_SKIP=" ${TEST_SKIP:-} "
TEST_THREADS="${TEST_THREADS:-8}"
LOGS="$ROOT/.localcloud"

# Results, in stage order: "NAME STATUS SECONDS".
results=()
failed=0
started_localcloud=0
t0=$SECONDS

# Colours only on a terminal.
if [[ -t 1 ]]; then
    BOLD=$'\033[1m' RED=$'\033[31m' GREEN=$'\033[32m' RESET=$'\033[0m'
else
    BOLD="" RED="" GREEN="" RESET=""
fi

say() { printf '\n%s==== %s%s\n' "$BOLD" "$*" "$RESET"; }

# stage NAME CMD...: runs CMD (with errexit, in a subshell) unless NAME is in TEST_SKIP, and
# records PASS/FAIL and the time it took. Never exits: the next stages still run.
stage() {
    local name="$1" start rc=0
    shift
    if [[ "$TEST_SKIP" == *" $name "* ]]; then
        results+=("$name SKIP 0 (TEST_SKIP)")
        say "$name: skipped (TEST_SKIP)"
        return 0
    fi
    say "$name: $*"
    start=$SECONDS
    # In the background and waited for, so that `set -e` holds inside the stage's functions.
    ("$@") &
    wait $! || rc=$?
    if ((rc == 0)); then
        results+=("$name PASS $((SECONDS - start))")
    else
        results+=("$name FAIL $((SECONDS - start)) (exit $rc)")
        failed=1
    fi
    return 0
}

# Stages run beside others: NAME -> pid, start time, output file.
declare -A bg_pid=() bg_start=() bg_log=()
BG_DIR=""

# stage_start NAME CMD...: starts the stage in the background, its output going to a file, and
# returns at once; stage_join NAME waits for it, prints its output and records the result.
stage_start() {
    local name="$1"
    shift
    if [[ "$TEST_SKIP" == *" $name "* ]]; then
        results+=("$name SKIP 0 (TEST_SKIP)")
        say "$name: skipped (TEST_SKIP)"
        return 0
    fi
    [[ -n "$BG_DIR" ]] || BG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mlpipe-test.XXXXXX")"
    say "$name: $* (in the background: its output follows when it ends)"
    bg_log[$name]="$BG_DIR/$name.log"
    bg_start[$name]=$SECONDS
    # The stage's own time is when it ended, not when it was waited for.
    (
        rc=0
        ("$@") &
        wait $! || rc=$?
        echo "$SECONDS" >"$BG_DIR/$name.end"
        exit "$rc"
    ) >"${bg_log[$name]}" 2>&1 &
    bg_pid[$name]=$!
}

# kill_tree PID: stops a background stage and every process it started.
kill_tree() {
    local child
    for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
    kill -- "$1" 2>/dev/null || true
}

stage_join() {
    local name="$1" rc=0
    [[ -n "${bg_pid[$name]:-}" ]] || return 0
    wait "${bg_pid[$name]}" || rc=$?
    unset "bg_pid[$name]"
    say "$name: ended (output below)"
    cat "${bg_log[$name]}"
    local end=$SECONDS
    [[ -f "$BG_DIR/$name.end" ]] && end="$(cat "$BG_DIR/$name.end")"
    local secs=$((end - ${bg_start[$name]}))
    if ((rc == 0)); then
        results+=("$name PASS $secs (beside other stages)")
    else
        results+=("$name FAIL $secs (exit $rc; beside other stages)")
        failed=1
    fi
    return 0
}

# skip NAME WHY: records a stage that cannot run.
skip() {
    results+=("$1 SKIP 0 ($2)")
    say "$1: skipped ($2)"
}

passed() {
    local r
    for r in "${results[@]}"; do
        [[ "$r" == "$1 PASS "* ]] && return 0
    done
    return 1
}

summary() {
    local r name status secs rest
    printf '\n%s==== summary (%s s in all)%s\n' "$BOLD" "$((SECONDS - t0))" "$RESET"
    for r in "${results[@]}"; do
        read -r name status secs rest <<<"$r"
        printf '  %-12s %-4s %5ss %s\n' "$name" "$status" "$secs" "$rest"
    done
    if ((failed)); then
        printf '%sFAIL%s: see the failing stage output above' "$RED" "$RESET"
        [[ -d "$LOGS" ]] && printf '; local cloud logs in .localcloud/'
        printf '\n'
    else
        local skipped=0
        for r in "${results[@]}"; do [[ "$r" == *" SKIP "* ]] && skipped=$((skipped + 1)); done
        if ((skipped)); then
            printf '%sPASS%s: every stage that ran passed (%s skipped)\n' "$GREEN" "$RESET" "$skipped"
        else
            printf '%sPASS%s: all stages passed\n' "$GREEN" "$RESET"
        fi
    fi
}

on_exit() {
    local rc=$?
    local name
    for name in "${!bg_pid[@]}"; do
        kill_tree "${bg_pid[$name]}"
        results+=("$name FAIL 0 (interrupted)")
    done
    [[ -z "$BG_DIR" ]] || rm -rf "$BG_DIR"
    if [[ -n "$iam_cloud_pid" ]] && kill -0 "$iam_cloud_pid" 2>/dev/null; then
        kill_tree "$iam_cloud_pid"
        env "${IAM_PROOF_ENV[@]}" scripts/localcloud.sh down >/dev/null 2>&1 || true
    fi
    if ((started_localcloud)); then
        if [[ "${TEST_KEEP_LOCALCLOUD:-0}" == 1 ]]; then
            say "local cloud left running (TEST_KEEP_LOCALCLOUD=1): scripts/localcloud.sh down stops it"
        else
            say "local cloud: down"
            scripts/localcloud.sh down || true
        fi
    fi
    summary
    if ((rc == 0 && failed)); then rc=1; fi
    exit "$rc"
}
trap on_exit EXIT
trap 'failed=1; results+=("interrupted FAIL 0"); exit 130' INT TERM

# ------------------------------------------------------------------------------ stages
localcloud_up() {
    # A stack left running (by a developer, or an earlier run) would keep serving the code it
    # started with: start from fresh processes. it-build built every binary.
    echo "scripts/localcloud.sh down && scripts/localcloud.sh up"
    scripts/localcloud.sh down
    LOCALCLOUD_SKIP_BUILD=1 scripts/localcloud.sh up
}

# The statements the iam stage deploys the stack without (one per enforcement point: moto's S3,
# the emulator's Personalize, the front door's Lambda); tests/tests/iam_enforced.rs.
IAM_PROOF_WITHOUT="WriteRawTranscripts PutEventsOnTheTracker InvokeThePipelineFunctions"
IAM_PROOF_ENV=(LOCALCLOUD_STATE_DIR="$ROOT/.localcloud/iam-proof" LOCALCLOUD_PORT=4576
    LOCALCLOUD_MOTO_PORT=4577 LOCALCLOUD_EMULATOR_PORT=4578)

# The iam stage's local cloud comes up in the background beside the first one, and waits
# while the integration tests run (they are bound by the first cloud's moto, one Python
# process): iam_cloud_start, then the iam stage (iam_proof) reads how it went.
iam_cloud_pid=""
iam_cloud_start() {
    [[ -n "$BG_DIR" ]] || BG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mlpipe-test.XXXXXX")"
    say "iam: a second local cloud comes up in the background (without: $IAM_PROOF_WITHOUT)"
    (
        rc=0
        {
            env "${IAM_PROOF_ENV[@]}" scripts/localcloud.sh down &&
                env "${IAM_PROOF_ENV[@]}" LOCALCLOUD_SKIP_BUILD=1 \
                    LOCALCLOUD_WITHOUT_STATEMENTS="$IAM_PROOF_WITHOUT" scripts/localcloud.sh up
        } >"$BG_DIR/iam-cloud.log" 2>&1 || rc=$?
        echo "$rc" >"$BG_DIR/iam-cloud.rc"
    ) &
    iam_cloud_pid=$!
}

iam_proof() {
    echo "a local cloud without: $IAM_PROOF_WITHOUT (its start, in the background:)"
    local waited=0
    until [[ -f "$BG_DIR/iam-cloud.rc" ]]; do
        if ((waited++ > 600)); then
            echo "the second local cloud did not come up in 600 s"
            return 1
        fi
        sleep 1
    done
    cat "$BG_DIR/iam-cloud.log"
    local rc
    rc="$(cat "$BG_DIR/iam-cloud.rc")"
    if ((rc != 0)); then
        env "${IAM_PROOF_ENV[@]}" scripts/localcloud.sh down
        return "$rc"
    fi
    (
        # shellcheck disable=SC1090
        source <(env "${IAM_PROOF_ENV[@]}" scripts/localcloud.sh env)
        export RUST_LIB_BACKTRACE=0
        cargo test --workspace --test iam_enforced -- --ignored
    ) || rc=$?
    env "${IAM_PROOF_ENV[@]}" scripts/localcloud.sh down
    return "$rc"
}

integration() {
    # shellcheck disable=SC1090
    source <(scripts/localcloud.sh env)
    # Test failures are anyhow errors: their message says what happened; no library backtraces.
    export RUST_LIB_BACKTRACE=0
    local targets
    read -ra targets <<<"$(integration_targets)"
    echo "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL cargo test --workspace ${targets[*]} --no-fail-fast -- --test-threads $TEST_THREADS"
    cargo test --workspace "${targets[@]}" --no-fail-fast -- --test-threads "$TEST_THREADS"
}

# setup installs Python and npm tools (network and disk) while fmt and clippy compile: unit
# needs its botocore models, lint its tools. lint runs its Python beside the unit build.
stage_start setup bash scripts/setup.sh
stage fmt cargo fmt --all --check
stage clippy cargo clippy --workspace --all-targets -- -D warnings
stage_join setup
stage_start lint bash scripts/lint.sh
stage unit cargo test --workspace --exclude integration-tests
stage_join lint
it_build() {
    scripts/localcloud.sh build
}

# `--workspace` with the test targets named, not `-p integration-tests`: cargo then resolves the
# features as in the build above and compiles nothing again.
integration_targets() {
    local f
    for f in tests/tests/*.rs; do printf -- '--test %s ' "$(basename "$f" .rs)"; done
}
stage it-build it_build

if [[ "$TEST_SKIP" == *" localcloud "* ]]; then
    skip localcloud "TEST_SKIP"
    skip integration "needs the local cloud"
elif [[ "$TEST_SKIP" == *" integration "* ]]; then
    skip localcloud "only the integration tests need it"
    skip integration "TEST_SKIP"
else
    started_localcloud=1
    [[ "$TEST_SKIP" == *" iam "* ]] || iam_cloud_start
    stage localcloud localcloud_up
    if passed localcloud; then
        stage integration integration
    else
        skip integration "the local cloud did not come up"
        failed=1
    fi
    if [[ "$TEST_SKIP" == *" iam "* ]]; then
        skip iam "TEST_SKIP"
    else
        stage iam iam_proof
    fi
fi
