#!/usr/bin/env bash
# Prints each function's release binary size and start-up time.
#
#   scripts/sizes.sh            native release build (this machine's architecture); start-up is
#                               measured against a local stand-in of the Lambda Runtime API
#                               (exec -> first poll = init; exec -> answer to one event)
#   scripts/sizes.sh --arm64    also the deployable artifacts: cargo lambda build --release --arm64
#                               (sizes only; they cannot run here)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# function -> an event it answers without any network (ignored / empty / rejected), so only
# start-up is timed. Functions in EXPECT_ERROR answer theirs with an error (InvalidInput).
declare -A EVENTS=(
    [genesys-transcript-fetcher]=events/genesys/eventbridge/genesys_eb_transcription_session_ongoing.json
    [lex-transcript-converter]=events/s3/empty-notification.json
    [lex-transcript-backfill]=events/genesys/backfill/invalid-step.json
    [start-image-job]=events/s3/empty-notification.json
    [generate-background]=events/images/invalid-task.json
    [image-job-report]=events/images/invalid-task.json
    [detect-labels]=events/apigw/detect-labels-invalid.json
    [segment-personalize-forwarder]=events/segment/segment_alias_example.json
    [recommendations]=events/apigw/recommendations-invalid.json
)
EXPECT_ERROR=" lex-transcript-backfill generate-background image-job-report "
FUNCTIONS=(genesys-transcript-fetcher lex-transcript-converter lex-transcript-backfill start-image-job generate-background image-job-report detect-labels
    segment-personalize-forwarder recommendations)
ENV=(AWS_LAMBDA_FUNCTION_NAME=startup AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 AWS_LAMBDA_FUNCTION_VERSION=\$LATEST AWS_LAMBDA_LOG_STREAM_NAME=startup AWS_LAMBDA_LOG_GROUP_NAME=startup AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_ENDPOINT_URL=http://127.0.0.1:9
    GENESYS_ENVIRONMENT=mypurecloud.com GENESYS_CREDENTIALS_SECRET_ID=unused RAW_BUCKET=raw OUTPUT_BUCKET=out
    JOBS_TABLE=jobs STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:sm UPLOAD_BUCKET=up
    GENERATED_BUCKET=gen STATUS_TABLE=status REPORT_BUCKET=rep TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:t
    PERSONALIZE_TRACKING_ID=t CACHE_TABLE=c CAMPAIGN_ARN=arn:aws:personalize:us-east-1:123456789012:campaign/c)

mib() { awk -v s="$1" 'BEGIN { printf "%.1f", s / 1048576 }'; }

args=()
for f in "${FUNCTIONS[@]}"; do args+=(--bin "$f"); done
echo "==> cargo build --release ${args[*]}"
cargo build --release --quiet "${args[@]}"

printf '\n%-30s %10s  %s\n' function size start-up
for f in "${FUNCTIONS[@]}"; do
    bin="target/release/$f"
    size=$(stat -c %s "$bin")
    expect=()
    [[ "$EXPECT_ERROR" == *" $f "* ]] && expect=(--expect-error)
    timing=$(python3 scripts/lib/startup.py "$bin" "${EVENTS[$f]}" 10 "${expect[@]}" "${ENV[@]}")
    printf '%-30s %6s MiB  %s\n' "$f" "$(mib "$size")" "$timing"
done
echo "(native $(uname -m) build, $(nproc) cores)"

if [[ "${1:-}" == "--arm64" ]]; then
    [[ -x .venv/bin/cargo-lambda ]] || scripts/setup.sh
    PATH="$ROOT/.venv/bin:$PATH" cargo lambda build --release --arm64 "${args[@]}"
    printf '\n%-30s %10s\n' "function (arm64 bootstrap)" size
    for f in "${FUNCTIONS[@]}"; do
        printf '%-30s %6s MiB\n' "$f" "$(mib "$(stat -c %s "target/lambda/$f/bootstrap")")"
    done
fi
