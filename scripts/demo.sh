#!/usr/bin/env bash
# THE demo: runs the Genesys Cloud -> Lex designer pipeline end to end on the sample
# conversations, offline, and shows where every result is.
#
#   scripts/demo.sh          leaves the local cloud running at the end (to look around)
#   scripts/demo.sh --down   takes it down at the end
#
# 1. scripts/setup.sh (tools; idempotent)
# 2. cargo build: the demo driver (integration-tests' demo-genesys) and the mlpipe CLI
# 3. scripts/localcloud.sh up: moto, front door, emulator, functions, relay
# 4. one SESSION_ENDED event per sample of events/genesys/transcripts (01-04) on the Genesys
#    partner bus; waits for each designer file (or the skipped reason: 04 is es-US) and
#    downloads everything to out/demo/genesys-lex/<bucket>/<key>
# 5. the same conversion through the CLI: mlpipe transcripts convert ... --out out/demo/cli
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DOWN=0
for arg in "$@"; do
    case "$arg" in
        --down) DOWN=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "unknown argument: $arg (try --help)" >&2
            exit 2
            ;;
    esac
done

OUT="out/demo"
SAMPLES="events/genesys/transcripts"

say() { printf '\n==> %s\n' "$*"; }

if ((DOWN)); then
    trap 'say "local cloud: down"; scripts/localcloud.sh down || true' EXIT
fi

say "1/5 setup"
bash scripts/setup.sh

say "2/5 build (demo driver and mlpipe CLI)"
cargo build -p integration-tests --bin demo-genesys
cargo build -p mlpipe --bin mlpipe

say "3/5 local cloud"
scripts/localcloud.sh up
# shellcheck disable=SC1090
source <(scripts/localcloud.sh env)

say "4/5 pipeline: SESSION_ENDED events for the samples in $SAMPLES"
pipeline_ok=1
cargo run -q -p integration-tests --bin demo-genesys -- --out "$OUT/genesys-lex" || pipeline_ok=0

say "5/5 CLI: mlpipe transcripts convert $SAMPLES --out $OUT/cli"
rm -rf "$OUT/cli"
cli_ok=1
cargo run -q -p mlpipe --bin mlpipe -- transcripts convert "$SAMPLES" --out "$OUT/cli" || cli_ok=0
# The CLI and the Lambda function share one conversion: their files must be identical.
same=0 differ=0
for file in "$OUT"/cli/*.json; do
    [[ -f "$file" ]] || continue
    lambda_file="$OUT/genesys-lex/mlpipe-lex-transcripts/lex-designer/$(basename "$file")"
    if [[ -f "$lambda_file" ]] && cmp -s "$file" "$lambda_file"; then
        same=$((same + 1))
    else
        differ=$((differ + 1))
        echo "    differs from the pipeline's (or the pipeline has none): $file"
    fi
done
echo "    CLI vs pipeline designer files: $same identical, $differ different"
((differ == 0)) || cli_ok=0

say "summary"
printf '  pipeline results   %s/genesys-lex/  (mirrors s3://<bucket>/<key> of the local cloud)\n' "$OUT"
printf '  CLI results        %s/cli/\n' "$OUT"
printf '  local cloud logs   .localcloud/*.log  (functions.log: the functions; relay.log: deliveries)\n'
if ((pipeline_ok)); then echo "  pipeline           OK"; else echo "  pipeline           FAILED (see above)"; fi
if ((cli_ok)); then echo "  CLI                OK"; else echo "  CLI                FAILED (see above)"; fi
if ((DOWN)); then
    echo "  the local cloud is taken down now"
else
    cat <<EOF

The local cloud is still running. To look around:
  source <(scripts/localcloud.sh env)
  .venv/bin/python -c "import boto3; print([o['Key'] for o in boto3.client('s3').list_objects_v2(Bucket='mlpipe-lex-transcripts')['Contents']])"
  scripts/localcloud.sh status | logs relay
Stop it with:
  scripts/localcloud.sh down
EOF
fi
((pipeline_ok && cli_ok))
