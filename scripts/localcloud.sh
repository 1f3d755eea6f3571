#!/usr/bin/env bash
# The local cloud, made from template.yaml itself: moto (IAM enforced) + our emulator + the
# front door, which is the Lambda service (it runs each function's binary under the Runtime API
# with the function's own template environment and assumed-role credentials) and AWS's endpoint
# for everything else; the stack is deployed from the expanded template and the event-source
# relay runs. Everything listens on 127.0.0.1; state, logs and pid files go to .localcloud/.
#
#   scripts/localcloud.sh up       build, expand and deploy template.yaml, start everything
#   scripts/localcloud.sh build    only the build `up` makes (every binary, and the tests)
#   scripts/localcloud.sh down     stop everything `up` started (whole process groups)
#   scripts/localcloud.sh restart  down, then up
#   scripts/localcloud.sh status   what runs, and whether it answers
#   scripts/localcloud.sh env      `export` lines for tests and demos: source <(scripts/localcloud.sh env)
#                                  (the local administrator's keys, the stack file)
#   scripts/localcloud.sh logs [SERVICE]   tail the logs (moto frontdoor emulator functions relay)
#
# Ports and knobs (environment):
#   LOCALCLOUD_PORT=4566            front door = AWS_ENDPOINT_URL (moto runs with MOTO_PORT=this)
#   LOCALCLOUD_MOTO_PORT=4567       moto itself
#   LOCALCLOUD_EMULATOR_PORT=4568   mlpipe-emulator (Genesys, Bedrock, Personalize stand-ins)
#   LOCALCLOUD_WAIT_SECS=180        how long `up` waits for each service
#   LOCALCLOUD_TEMPLATE=template.yaml            the SAM template to deploy
#   LOCALCLOUD_PARAMETERS=local/localcloud/parameters.json   its parameter values
#   LOCALCLOUD_STATE_DIR=.localcloud    state, logs and pid files (a second local cloud needs its own
#                                   and its own ports)
#   LOCALCLOUD_WITHOUT_STATEMENTS="Sid ..."  deploy the template without these IAM policy
#                                   statements (the proof that enforcement catches a missing one)
#   LOCALCLOUD_ASYNC_RETRY_DELAYS_MS=1000,2000   waits before Lambda's asynchronous retries
#                                   (AWS: about 60000,120000)
#   LOCALCLOUD_SKIP_BUILD=1         do not run cargo build first
#   LOCALCLOUD_KEEP_ON_FAILURE=1    leave services running when `up` fails (for debugging)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

HOST=127.0.0.1
FRONTDOOR_PORT="${LOCALCLOUD_PORT:-4566}"
MOTO_PORT_="${LOCALCLOUD_MOTO_PORT:-4567}"
EMULATOR_PORT="${LOCALCLOUD_EMULATOR_PORT:-4568}"
WAIT_SECS="${LOCALCLOUD_WAIT_SECS:-180}"

STATE="${LOCALCLOUD_STATE_DIR:-$ROOT/.localcloud}"
SHOWN_STATE="${STATE#"$ROOT"/}"
VENV="$ROOT/.venv"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/debug"
TEMPLATE="${LOCALCLOUD_TEMPLATE:-template.yaml}"
PARAMETERS="${LOCALCLOUD_PARAMETERS:-local/localcloud/parameters.json}"
EXPANDED="$STATE/template.json"
STACK="$STATE/stack.json"
PRINCIPALS="$STATE/iam-principals.json"
FIXTURES="events/genesys/transcripts"
# The operator's step after the first deploy (README): the Genesys OAuth client in the secret.
# These are the emulator's demo credentials, not a secret.
GENESYS_SECRET='{"clientId":"local-client-id","clientSecret":"local-client-secret"}'

FRONTDOOR_URL="http://$HOST:$FRONTDOOR_PORT"
MOTO_URL="http://$HOST:$MOTO_PORT_"
EMULATOR_URL="http://$HOST:$EMULATOR_PORT"

# Start order; `down` goes in reverse.
SERVICES=(moto frontdoor emulator relay)

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

# ----------------------------------------------------------------------------- environment
# What clients (tests, demos, the relay) need to reach the local cloud: the administrator's
# keys (moto enforces IAM: other keys are refused) and the stack file.
client_env() {
    [[ -f "$STACK" ]] || {
        echo "echo 'the local cloud is not deployed: scripts/localcloud.sh up' >&2"
        return 0
    }
    "$VENV/bin/python" - "$STACK" <<PY
import json, shlex, sys
stack = json.load(open(sys.argv[1]))
admin = stack["admin"]
for k, v in [
    ("AWS_ENDPOINT_URL", "$FRONTDOOR_URL"),
    ("AWS_REGION", stack["region"]),
    ("AWS_DEFAULT_REGION", stack["region"]),
    ("AWS_ACCESS_KEY_ID", admin["accessKeyId"]),
    ("AWS_SECRET_ACCESS_KEY", admin["secretAccessKey"]),
    ("S3_FORCE_PATH_STYLE", "true"),
    ("LOCALCLOUD_EMULATOR_URL", "$EMULATOR_URL"),
    ("LOCALCLOUD_STACK_FILE", sys.argv[1]),
]:
    print(f"export {k}={shlex.quote(v)}")
# The mlpipe CLI's defaults (image jobs, transcript backfills): the stack's outputs.
for k, output in [
    ("MLPIPE_UPLOAD_BUCKET", "ImageUploadBucketName"),
    ("MLPIPE_OUTPUT_BUCKET", "ImageOutputBucketName"),
    ("MLPIPE_STATE_MACHINE_ARN", "ImageBackgroundStateMachineArn"),
    ("MLPIPE_BACKFILL_STATE_MACHINE_ARN", "GenesysBackfillStateMachineArn"),
]:
    v = stack["outputs"].get(output)
    if v is None:
        continue
    print(f"export {k}={shlex.quote(v)}")
print("unset AWS_SESSION_TOKEN AWS_PROFILE")
PY
}

# ------------------------------------------------------------------------ process handling
# .localcloud/NAME.pid holds "PID PGID MARKER": MARKER is a word of the command line, checked
# before anything is signalled so that a recycled pid is never touched.
pid_file() { printf '%s/%s.pid' "$STATE" "$1"; }
log_file() { printf '%s/%s.log' "$STATE" "$1"; }

# running NAME: true if the service's recorded process is alive and is still ours.
running() {
    local file pid pgid marker
    file="$(pid_file "$1")"
    [[ -f "$file" ]] || return 1
    read -r pid pgid marker <"$file" || return 1
    [[ -n "${pid:-}" ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# group_alive PGID: any process left in that process group?
group_alive() { kill -0 -- "-$1" 2>/dev/null; }

# port_busy PORT: does something accept connections there?
port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# start NAME MARKER PORT CMD...: runs CMD in its own session/process group, logs to NAME.log.
start() {
    local name="$1" marker="$2" port="$3"
    shift 3
    if running "$name"; then
        note "$name already running (pid $(cut -d' ' -f1 "$(pid_file "$name")"))"
        return 0
    fi
    if [[ -n "$port" ]] && port_busy "$port"; then
        fail_up "$name: port $port is already in use by another process (set LOCALCLOUD_*_PORT)" ""
    fi
    local log
    log="$(log_file "$name")"
    printf -- '--- %s started %s: %s\n' "$name" "$(date -u +%FT%TZ)" "$*" >"$log"
    setsid "$@" >>"$log" 2>&1 </dev/null &
    local pid=$!
    # Until setsid has made its own session the child is in our process group (first a copy
    # of this script, then setsid itself, whose command line already holds MARKER): wait until
    # it leads its own group before recording it, or `stop` would signal our own group (and
    # the test command that started us) on a busy machine.
    local i pgid=""
    for ((i = 0; i < 200; i++)); do
        pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
        [[ "$pgid" == "$pid" ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    for ((i = 0; i < 100; i++)); do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    printf '%s %s %s\n' "$pid" "$pid" "$marker" >"$(pid_file "$name")"
    note "$name started (pid $pid, log $SHOWN_STATE/$name.log)"
}

# Our own process group (the caller's, without job control): never signalled.
OWN_PGID="$(ps -o pgid= -p $$ 2>/dev/null | tr -d ' ' || true)"

# stop NAME: TERM to the whole process group, KILL after 10 s.
stop() {
    local name="$1" file pid pgid marker
    file="$(pid_file "$name")"
    [[ -f "$file" ]] || return 0
    read -r pid pgid marker <"$file" || true
    if [[ -z "${pgid:-}" || "$pgid" == "$OWN_PGID" ]]; then
        pgid="$pid"
    fi
    if ! running "$name"; then
        # The leader is gone; its group may not be (a cargo run child, say).
        if [[ -n "${pgid:-}" ]] && group_alive "$pgid" && [[ "$pgid" != "$$" && "$pgid" != "$OWN_PGID" ]]; then
            kill -TERM -- "-$pgid" 2>/dev/null || true
        fi
        rm -f "$file"
        return 0
    fi
    kill -TERM -- "-$pgid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
        group_alive "$pgid" || break
        sleep 0.1
    done
    if group_alive "$pgid"; then
        warn "$name did not stop within 10 s: SIGKILL"
        kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
    rm -f "$file"
    note "$name stopped"
}

# fail_up MESSAGE SERVICE: print the message and the service's log tail, stop, exit 1.
fail_up() {
    local message="$1" name="${2:-}"
    printf '\nERROR: %s\n' "$message" >&2
    if [[ -n "$name" && -f "$(log_file "$name")" ]]; then
        printf -- '--- last lines of %s/%s.log:\n' "$SHOWN_STATE" "$name" >&2
        tail -n 40 "$(log_file "$name")" >&2
        printf -- '---\n' >&2
    fi
    if [[ "${LOCALCLOUD_KEEP_ON_FAILURE:-0}" != 1 ]]; then
        printf 'stopping what was started (LOCALCLOUD_KEEP_ON_FAILURE=1 keeps it)\n' >&2
        cmd_down >&2 || true
    fi
    exit 1
}

# http_code METHOD URL [DATA] [MAX_SECS]: the status code, 000 if nothing answered.
http_code() {
    local method="$1" url="$2" data="${3:-}" max="${4:-3}"
    if [[ -n "$data" ]]; then
        curl -s -o /dev/null -w '%{http_code}' -m "$max" -X "$method" -H 'content-type: application/json' --data "$data" "$url" 2>/dev/null || true
    else
        curl -s -o /dev/null -w '%{http_code}' -m "$max" -X "$method" "$url" 2>/dev/null || true
    fi
}

# wait_http NAME URL: until URL answers with any HTTP status, the service dies, or time runs out.
wait_http() {
    local name="$1" url="$2" deadline=$((SECONDS + WAIT_SECS)) code
    while ((SECONDS < deadline)); do
        code="$(http_code GET "$url")"
        if [[ "$code" != 000 && -n "$code" ]]; then
            note "$name answers at $url (HTTP $code)"
            return 0
        fi
        running "$name" || fail_up "$name exited during start-up" "$name"
        sleep 0.3
    done
    fail_up "$name did not answer at $url within ${WAIT_SECS}s" "$name"
}

# wait_log NAME TEXT: until the service's log contains TEXT.
wait_log() {
    local name="$1" text="$2" deadline=$((SECONDS + WAIT_SECS))
    while ((SECONDS < deadline)); do
        grep -qF -- "$text" "$(log_file "$name")" 2>/dev/null && return 0
        running "$name" || fail_up "$name exited during start-up" "$name"
        sleep 0.3
    done
    fail_up "$name did not report '$text' within ${WAIT_SECS}s" "$name"
}

# ----------------------------------------------------------------------------------- build
# One workspace build of every binary (the functions, the local cloud, the emulator, the CLI,
# the demo driver) and of the tests: with the tests, cargo resolves the features as the test
# suite does, so scripts/test.sh and the demo share one set of artifacts instead of compiling
# the AWS SDK twice.
BUILD=(cargo build --workspace --bins --tests)

build() {
    if [[ "${LOCALCLOUD_SKIP_BUILD:-0}" == 1 ]]; then
        say "build skipped (LOCALCLOUD_SKIP_BUILD=1)"
        return 0
    fi
    say "${BUILD[*]}"
    "${BUILD[@]}" || fail_up "${BUILD[*]} failed" ""
}

# ------------------------------------------------------------------------------- commands
cmd_env() { client_env; }

cmd_up() {
    mkdir -p "$STATE"
    if [[ ! -x "$VENV/bin/moto_server" ]] || ! "$VENV/bin/python" -c 'import samtranslator' 2>/dev/null; then
        say "tools missing: running scripts/setup.sh"
        bash "$ROOT/scripts/setup.sh"
    fi
    command -v curl >/dev/null || fail_up "curl is needed (apt-get install curl)" ""
    build
    [[ -x "$BIN/localcloud" ]] || fail_up "$BIN/localcloud not built" ""

    say "expand $TEMPLATE (SAM translator) -> $SHOWN_STATE/template.json"
    local without=() sid
    for sid in ${LOCALCLOUD_WITHOUT_STATEMENTS:-}; do without+=(--without-statement "$sid"); done
    "$VENV/bin/python" scripts/lib/expand_template.py --template "$TEMPLATE" --params "$PARAMETERS" \
        "${without[@]}" --out "$EXPANDED" || fail_up "the SAM translator refused $TEMPLATE" ""

    export AWS_ENDPOINT_URL="$FRONTDOOR_URL" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE

    say "moto on $MOTO_URL (IAM enforced; MOTO_PORT=$FRONTDOOR_PORT: its Step Functions call back through the front door)"
    # The first three requests (the administrator, its policy, its key) are not authorised;
    # every later one is checked against the caller's policies.
    rm -f "$STACK" "$PRINCIPALS"
    start moto "local/localcloud/moto/server.py" "$MOTO_PORT_" \
        env LOCALCLOUD_DEBUG_SIGNATURES="${LOCALCLOUD_DEBUG_SIGNATURES:-}" MOTO_PORT="$FRONTDOOR_PORT" INITIAL_NO_AUTH_ACTION_COUNT=3 MOTO_IAM_LOAD_MANAGED_POLICIES=true \
        "$VENV/bin/python" local/localcloud/moto/server.py -H "$HOST" -p "$MOTO_PORT_"
    wait_http moto "$MOTO_URL/moto-api/"
    local code
    code="$(http_code POST "$MOTO_URL/moto-api/config" '{"stepfunctions":{"execute_state_machine":true}}')"
    [[ "$code" == 201 || "$code" == 200 ]] || fail_up "moto refused the Step Functions config (HTTP $code)" moto
    note "moto: Step Functions execute state machines"

    say "front door on $FRONTDOOR_URL (the Lambda service; the rest -> moto)"
    start frontdoor "localcloud frontdoor" "$FRONTDOOR_PORT" \
        "$BIN/localcloud" frontdoor --listen "$HOST:$FRONTDOOR_PORT" --moto "$MOTO_URL" \
        --emulator "$EMULATOR_URL" --stack "$STACK" --principals "$PRINCIPALS" --bin-dir "$BIN" \
        --log "$(log_file functions)"
    wait_http frontdoor "$FRONTDOOR_URL/moto-api/"

    say "emulator on $EMULATOR_URL"
    local fixtures=()
    [[ -d "$FIXTURES" ]] && fixtures=(--genesys-fixtures "$FIXTURES")
    start emulator mlpipe-emulator "$EMULATOR_PORT" \
        "$BIN/mlpipe-emulator" --listen "$HOST:$EMULATOR_PORT" --iam-principals "$PRINCIPALS" "${fixtures[@]}"
    wait_http emulator "$EMULATOR_URL/"

    say "deploy $SHOWN_STATE/template.json ($PARAMETERS) -> $SHOWN_STATE/stack.json"
    if ! "$BIN/localcloud" deploy --template "$EXPANDED" --parameters "$PARAMETERS" --out "$STACK" \
        --secret-value "GenesysCredentialsSecret=$GENESYS_SECRET" 2>&1 | tee "$STATE/deploy.log" | sed 's/^/    /'; then
        fail_up "deploy failed" deploy
    fi
    grep -q '^deploy done' "$STATE/deploy.log" || fail_up "deploy failed" deploy

    say "relay (the stack's event sources)"
    eval "$(client_env)"
    start relay "localcloud relay" "" "$BIN/localcloud" relay --stack "$STACK"
    wait_log relay "relay ready"
    grep 'route ready' "$(log_file relay)" | sed 's/^.*route ready /    route /'

    say "local cloud is up"
    note "AWS endpoint   $FRONTDOOR_URL   (source <(scripts/localcloud.sh env))"
    note "stack          $SHOWN_STATE/stack.json (outputs, physical ids, functions, routes)"
    note "moto           $MOTO_URL"
    note "emulator       $EMULATOR_URL"
    note "logs           $SHOWN_STATE/*.log ; stop with scripts/localcloud.sh down"
}

cmd_down() {
    local i name any=0
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
        name="${SERVICES[$i]}"
        if [[ -f "$(pid_file "$name")" ]]; then
            any=1
            stop "$name"
        fi
    done
    ((any)) || note "nothing was running"
}

cmd_status() {
    local name pid url code
    for name in "${SERVICES[@]}"; do
        case "$name" in
            moto) url="$MOTO_URL/moto-api/" ;;
            frontdoor) url="$FRONTDOOR_URL/moto-api/" ;;
            emulator) url="$EMULATOR_URL/" ;;
            relay) url="" ;;
        esac
        if running "$name"; then
            pid="$(cut -d' ' -f1 "$(pid_file "$name")")"
            code=""
            [[ -n "$url" ]] && code=" $url -> HTTP $(http_code GET "$url")"
            printf '%-10s running (pid %s)%s\n' "$name" "$pid" "$code"
        else
            printf '%-10s stopped\n' "$name"
        fi
    done
}

cmd_logs() {
    if [[ $# -gt 0 ]]; then
        tail -n 100 -f "$(log_file "$1")"
    else
        tail -n 20 -f "$STATE"/*.log
    fi
}

case "${1:-}" in
    up) cmd_up ;;
    build)
        LOCALCLOUD_SKIP_BUILD=0
        build
        ;;
    down) cmd_down ;;
    restart)
        cmd_down
        cmd_up
        ;;
    status) cmd_status ;;
    env) cmd_env ;;
    logs)
        shift
        cmd_logs "$@"
        ;;
    *)
        sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
        exit 2
        ;;
esac
