#!/usr/bin/env bash
# The local cloud: moto + our emulator + the functions under `cargo lambda watch`, behind one
# AWS endpoint (the front door), with the stack's resources bootstrapped and the event-source
# relay running. Everything listens on 127.0.0.1; state, logs and pid files go to .localcloud/.
#
#   scripts/localcloud.sh up       build what is needed, start everything, wait until it answers
#   scripts/localcloud.sh down     stop everything `up` started (whole process groups)
#   scripts/localcloud.sh restart  down, then up
#   scripts/localcloud.sh status   what runs, and whether it answers
#   scripts/localcloud.sh env      `export` lines for tests and demos: source <(scripts/localcloud.sh env)
#   scripts/localcloud.sh logs [SERVICE]   tail the logs (moto frontdoor emulator functions relay)
#
# Ports and knobs (environment):
#   LOCALCLOUD_PORT=4566            front door = AWS_ENDPOINT_URL (moto runs with MOTO_PORT=this)
#   LOCALCLOUD_MOTO_PORT=4567       moto itself
#   LOCALCLOUD_EMULATOR_PORT=4568   mlpipe-emulator (Genesys, Bedrock, Personalize stand-ins)
#   LOCALCLOUD_LAMBDA_PORT=9001     cargo lambda watch (Lambda Invoke API of every workspace binary)
#   LOCALCLOUD_WAIT_SECS=180        how long `up` waits for each service
#   LOCALCLOUD_FUNCTION_TIMEOUT_SECS=60   function timeout, enforced by the front door (not by
#                                   `cargo lambda watch --timeout`: after one 408 cargo-lambda 1.9.2
#                                   answers that function's next runtime polls without a request id
#                                   and every later instance panics)
#   LOCALCLOUD_FUNCTIONS_MANIFEST=Cargo.toml   the Cargo project whose binaries are served as
#                                   functions (default: this workspace)
#   LOCALCLOUD_SKIP_BUILD=1         do not run cargo build first
#   LOCALCLOUD_WARMUP=0             do not warm the functions up (routed or invoked by state machines)
#   LOCALCLOUD_RELOAD=1             rebuild/restart functions when their sources change
#                                   (default off: `restart` picks up edits)
#   LOCALCLOUD_KEEP_ON_FAILURE=1    leave services running when `up` fails (for debugging)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

HOST=127.0.0.1
FRONTDOOR_PORT="${LOCALCLOUD_PORT:-4566}"
MOTO_PORT_="${LOCALCLOUD_MOTO_PORT:-4567}"
EMULATOR_PORT="${LOCALCLOUD_EMULATOR_PORT:-4568}"
LAMBDA_PORT="${LOCALCLOUD_LAMBDA_PORT:-9001}"
WAIT_SECS="${LOCALCLOUD_WAIT_SECS:-180}"
FUNCTION_TIMEOUT="${LOCALCLOUD_FUNCTION_TIMEOUT_SECS:-60}"

STATE="$ROOT/.localcloud"
VENV="$ROOT/.venv"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/debug"
ROUTES="localcloud/routes.json"
RESOURCES="localcloud/resources.json"
FUNCTIONS_ENV="localcloud/functions.env"
# Functions that no route or state machine invokes here but that clients call directly: warmed
# up like the others so a first call does not wait for a build.
DIRECT_FUNCTIONS="detect-labels recommendations segment-personalize-forwarder"
FIXTURES="events/genesys/transcripts"
FUNCTIONS_MANIFEST="${LOCALCLOUD_FUNCTIONS_MANIFEST:-$ROOT/Cargo.toml}"

FRONTDOOR_URL="http://$HOST:$FRONTDOOR_PORT"
MOTO_URL="http://$HOST:$MOTO_PORT_"
EMULATOR_URL="http://$HOST:$EMULATOR_PORT"
LAMBDA_URL="http://$HOST:$LAMBDA_PORT"

# Start order; `down` goes in reverse.
SERVICES=(moto frontdoor emulator functions relay)

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

# ----------------------------------------------------------------------------- environment
# What clients (tests, demos, the relay, bootstrap) need to reach the local cloud.
client_env() {
    cat <<EOF
export AWS_ENDPOINT_URL=$FRONTDOOR_URL
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export S3_FORCE_PATH_STYLE=true
export LOCALCLOUD_LAMBDA_URL=$LAMBDA_URL
export LOCALCLOUD_EMULATOR_URL=$EMULATOR_URL
EOF
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
    # Until setsid has run and exec'd CMD, the child is a copy of this script (its command
    # line lacks MARKER, its process group is ours): wait for that before recording it, or a
    # quick `running` check sees a dead service and `stop` would signal our own group.
    local i
    for ((i = 0; i < 100; i++)); do
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    local pgid
    pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
    printf '%s %s %s\n' "$pid" "${pgid:-$pid}" "$marker" >"$(pid_file "$name")"
    note "$name started (pid $pid, log .localcloud/$name.log)"
}

# stop NAME: TERM to the whole process group, KILL after 10 s.
stop() {
    local name="$1" file pid pgid marker
    file="$(pid_file "$name")"
    [[ -f "$file" ]] || return 0
    read -r pid pgid marker <"$file" || true
    if ! running "$name"; then
        # The leader is gone; its group may not be (a cargo run child, say).
        if [[ -n "${pgid:-}" ]] && group_alive "$pgid" && [[ "$pgid" != "$$" ]]; then
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
        printf -- '--- last lines of .localcloud/%s.log:\n' "$name" >&2
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
# Function packages: every crate under functions/ (their binaries are what watch serves).
function_packages() {
    local manifest
    for manifest in functions/*/Cargo.toml; do
        [[ -f "$manifest" ]] || continue
        sed -n 's/^name *= *"\(.*\)"/\1/p' "$manifest" | head -n 1
    done
}

# Names of the functions the relay routes to.
routed_functions() {
    {
        sed -n 's/.*"function" *: *"\([^"]*\)".*/\1/p' "$ROUTES"
        # Functions the state machines invoke (their ARNs in the substitutions of resources.json).
        sed -n 's/.*"arn:aws:lambda:[^"]*:function:\([^":]*\)".*/\1/p' "$ROOT/$RESOURCES"
        # Functions invoked directly in AWS (HTTP APIs; Segment's Lambda destination).
        printf '%s\n' $DIRECT_FUNCTIONS
    } | sort -u
}

build() {
    if [[ "${LOCALCLOUD_SKIP_BUILD:-0}" == 1 ]]; then
        say "build skipped (LOCALCLOUD_SKIP_BUILD=1)"
        return 0
    fi
    say "cargo build -p localcloud"
    if ! cargo build -p localcloud; then
        [[ -x "$BIN/localcloud" ]] || fail_up "building localcloud failed" ""
        warn "building localcloud failed: using the existing $BIN/localcloud"
    fi
    say "cargo build -p mlpipe-emulator --bin mlpipe-emulator"
    if ! cargo build -p mlpipe-emulator --bin mlpipe-emulator; then
        warn "building mlpipe-emulator failed: an older binary is used if there is one"
    fi
    # One package per build: `cargo lambda watch` runs `cargo run --bin NAME`, and building the
    # same single package here gives it the same features, so its first invoke starts at once.
    if [[ "$FUNCTIONS_MANIFEST" != "$ROOT/Cargo.toml" ]]; then
        say "cargo build --manifest-path $FUNCTIONS_MANIFEST"
        cargo build --manifest-path "$FUNCTIONS_MANIFEST" || warn "building $FUNCTIONS_MANIFEST failed"
        return 0
    fi
    local pkg
    for pkg in $(function_packages); do
        say "cargo build -p $pkg"
        cargo build -p "$pkg" || warn "building $pkg failed: it will fail on invoke (see .localcloud/functions.log)"
    done
}

# ------------------------------------------------------------------------------- commands
cmd_env() { client_env; }

cmd_up() {
    mkdir -p "$STATE"
    if [[ ! -x "$VENV/bin/moto_server" || ! -x "$VENV/bin/cargo-lambda" ]]; then
        say "tools missing: running scripts/setup.sh"
        bash "$ROOT/scripts/setup.sh"
    fi
    command -v curl >/dev/null || fail_up "curl is needed (apt-get install curl)" ""
    build
    [[ -x "$BIN/localcloud" ]] || fail_up "$BIN/localcloud not built" ""

    # Environment of everything we start: the AWS endpoint is the front door.
    eval "$(client_env)"
    export PATH="$VENV/bin:$PATH"

    say "moto on $MOTO_URL (MOTO_PORT=$FRONTDOOR_PORT: its Step Functions call back through the front door)"
    start moto moto_server "$MOTO_PORT_" \
        env MOTO_PORT="$FRONTDOOR_PORT" "$VENV/bin/moto_server" -H "$HOST" -p "$MOTO_PORT_"
    wait_http moto "$MOTO_URL/moto-api/"
    local code
    code="$(http_code POST "$MOTO_URL/moto-api/config" '{"stepfunctions":{"execute_state_machine":true}}')"
    [[ "$code" == 201 || "$code" == 200 ]] || fail_up "moto refused the Step Functions config (HTTP $code)" moto
    note "moto: Step Functions execute state machines"

    say "front door on $FRONTDOOR_URL (Lambda Invoke -> $LAMBDA_URL, the rest -> moto)"
    start frontdoor "localcloud frontdoor" "$FRONTDOOR_PORT" \
        "$BIN/localcloud" frontdoor --listen "$HOST:$FRONTDOOR_PORT" --moto "$MOTO_URL" \
        --lambda "$LAMBDA_URL" --invoke-timeout-secs "$FUNCTION_TIMEOUT"
    wait_http frontdoor "$FRONTDOOR_URL/moto-api/"

    say "bootstrap ($RESOURCES)"
    if ! "$BIN/localcloud" bootstrap --resources "$RESOURCES" 2>&1 | tee "$STATE/bootstrap.log" | sed 's/^/    /'; then
        fail_up "bootstrap failed" bootstrap
    fi
    grep -q '^bootstrap done' "$STATE/bootstrap.log" || fail_up "bootstrap failed" bootstrap

    say "emulator on $EMULATOR_URL"
    if [[ -x "$BIN/mlpipe-emulator" ]]; then
        local fixtures=()
        [[ -d "$FIXTURES" ]] && fixtures=(--genesys-fixtures "$FIXTURES")
        start emulator mlpipe-emulator "$EMULATOR_PORT" \
            "$BIN/mlpipe-emulator" --listen "$HOST:$EMULATOR_PORT" "${fixtures[@]}"
        wait_http emulator "$EMULATOR_URL/"
    else
        warn "$BIN/mlpipe-emulator is not built: no emulator (Genesys/Bedrock/Personalize calls will fail)"
    fi

    say "functions under cargo lambda watch on $LAMBDA_URL"
    # Ports in functions.env follow the LOCALCLOUD_*_PORT overrides.
    sed -e "s#127.0.0.1:4566#$HOST:$FRONTDOOR_PORT#g" -e "s#127.0.0.1:4568#$HOST:$EMULATOR_PORT#g" \
        "$FUNCTIONS_ENV" >"$STATE/functions.env"
    # Default: no rebuild on source changes, so that edits elsewhere in the workspace cannot
    # restart functions in the middle of a test run. Functions still compile on (re)start.
    local reload=(--ignore-changes)
    [[ "${LOCALCLOUD_RELOAD:-0}" == 1 ]] && reload=()
    start functions "lambda watch" "$LAMBDA_PORT" \
        "$VENV/bin/cargo-lambda" lambda watch --invoke-address "$HOST" --invoke-port "$LAMBDA_PORT" \
        --env-file "$STATE/functions.env" --manifest-path "$FUNCTIONS_MANIFEST" "${reload[@]}"
    wait_functions

    say "relay ($ROUTES)"
    start relay "localcloud relay" "" "$BIN/localcloud" relay --config "$ROUTES"
    wait_log relay "relay ready"
    grep 'route ready' "$(log_file relay)" | sed 's/^.*route ready /    route /'

    say "local cloud is up"
    note "AWS endpoint   $FRONTDOOR_URL   (source <(scripts/localcloud.sh env))"
    note "moto           $MOTO_URL"
    note "emulator       $EMULATOR_URL"
    note "functions      $LAMBDA_URL"
    note "logs           .localcloud/*.log ; stop with scripts/localcloud.sh down"
}

# The watch server answers an unknown function with 404 and the list of the functions it
# serves; the routed ones are then invoked once with `{}` so that they are compiled and
# started now rather than on the first real event (the `{}` is expected to fail to
# deserialize: any answer from the function counts).
wait_functions() {
    local deadline=$((SECONDS + WAIT_SECS)) probe="$LAMBDA_URL/2015-03-31/functions/localcloud-probe/invocations"
    local body=""
    while ((SECONDS < deadline)); do
        body="$(curl -s -m 3 -X POST --data '{}' "$probe" 2>/dev/null || true)"
        [[ "$body" == *"Available functions"* || "$body" == *"available"* ]] && break
        running functions || fail_up "cargo lambda watch exited during start-up" functions
        sleep 0.3
    done
    [[ -n "$body" ]] || fail_up "cargo lambda watch did not answer at $LAMBDA_URL within ${WAIT_SECS}s" functions
    note "cargo lambda watch answers at $LAMBDA_URL"

    if [[ "${LOCALCLOUD_WARMUP:-1}" == 0 ]]; then
        note "warm-up skipped (LOCALCLOUD_WARMUP=0): functions compile/start on first invoke"
        return 0
    fi
    local fn
    for fn in $(routed_functions); do
        if [[ "$body" != *"\\\"$fn\\\""* && "$body" != *"\"$fn\""* ]]; then
            warn "function $fn (routed in $ROUTES) is not a binary of the workspace: its events will wait on their queue"
            continue
        fi
        warm_up "$fn"
    done
}

# warm_up NAME: one invoke with `{}`, bounded by LOCALCLOUD_WAIT_SECS (a first start may have to
# compile, and cargo waits for other cargo commands' locks); fails at once if the function's
# process exits meanwhile (it does not compile, or panics at start-up).
warm_up() {
    local fn="$1" log lines_before result pid code
    log="$(log_file functions)"
    lines_before="$(wc -l <"$log")"
    result="$STATE/warmup.$fn"
    rm -f "$result"
    curl -s -o /dev/null -w '%{http_code}' -m "$WAIT_SECS" -X POST -H 'content-type: application/json' \
        --data '{}' "$LAMBDA_URL/2015-03-31/functions/$fn/invocations" >"$result" 2>/dev/null &
    pid=$!
    local pgid gone=0
    pgid="$(cut -d' ' -f2 "$(pid_file functions)")"
    while kill -0 "$pid" 2>/dev/null; do
        # watch logs a non-zero exit; a zero exit (a `main` that is no Lambda) shows as the
        # function's process missing after cargo said it was running it.
        if tail -n "+$((lines_before + 1))" "$log" | grep -q "Running \`.*/$fn\`"; then
            if pgrep -g "$pgid" -f "/debug/$fn( |\$)" >/dev/null; then gone=0; else gone=$((gone + 1)); fi
        fi
        if ((gone > 5)) || tail -n "+$((lines_before + 1))" "$log" | grep -q 'ERROR command exited'; then
            kill "$pid" 2>/dev/null || true
            fail_up "function $fn exited during its warm-up invoke (build error, start-up panic, or a main that is not a Lambda runtime?)" functions
        fi
        running functions || fail_up "cargo lambda watch exited" functions
        sleep 0.3
    done
    wait "$pid" 2>/dev/null || true
    code="$(cat "$result" 2>/dev/null || true)"
    rm -f "$result"
    case "$code" in
        200 | 500) note "function $fn answers (warm-up with {}: HTTP $code)" ;;
        *) fail_up "function $fn did not answer its warm-up invoke within ${WAIT_SECS}s (HTTP ${code:-000})" functions ;;
    esac
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
            functions) url="$LAMBDA_URL/" ;;
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
