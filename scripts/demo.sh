#!/usr/bin/env bash
# THE demo: runs the pipelines end to end on sample data, offline, and shows where every
# result is: Genesys Cloud -> Lex designer, and image background replacement.
#
#   scripts/demo.sh          leaves the local cloud running at the end (to look around)
#   scripts/demo.sh --down   takes it down at the end
#
# 1. scripts/setup.sh (tools; idempotent)
# 2. scripts/localcloud.sh build: the functions, the local cloud, the emulator, the mlpipe CLI
#    and the demo driver (integration-tests' demo-genesys), and the tests (the same build as
#    scripts/test.sh's)
# 3. scripts/localcloud.sh up: template.yaml expanded and deployed into moto (IAM enforced), the
#    front door running each function under its own role, the emulator, the relay
# 4. one SESSION_ENDED event per sample of events/genesys/transcripts (01-04) on the Genesys
#    partner bus; waits for each designer file (or the skipped reason: 04 is es-US) and
#    downloads everything to out/demo/genesys-lex/<bucket>/<key>
# 5. the same conversion through the CLI: mlpipe transcripts convert ... --out out/demo/cli;
#    then a backfill of the raw bucket on Step Functions (mlpipe transcripts backfill), its
#    report downloaded to out/demo/backfill
# 6. image labels: detect-labels (HTTP API event through the Lambda Invoke API, Rekognition
#    in moto) on a sample image
# 7. an image job: mlpipe images run events/images ... --out out/demo/images (uploads, the
#    manifest, the Step Functions Distributed Map in moto, Bedrock in the emulator, report)
# 8. Segment -> Personalize: recommendations before, the sample Segment messages sent as
#    Segment's Lambda destination does plus a batch through SQS, recommendations after (a
#    cache miss answered by the emulated Personalize from those events, then a cache hit)
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

say "1/8 setup"
bash scripts/setup.sh

say "2/8 build (one workspace build: functions, local cloud, emulator, mlpipe CLI, demo driver)"
scripts/localcloud.sh build

say "3/8 local cloud"
LOCALCLOUD_SKIP_BUILD=1 scripts/localcloud.sh up
# shellcheck disable=SC1090
source <(scripts/localcloud.sh env)

# The stack's outputs (as `aws cloudformation describe-stacks` gives them on AWS).
output() { .venv/bin/python -c 'import json,os,sys; print(json.load(open(os.environ["LOCALCLOUD_STACK_FILE"]))["outputs"][sys.argv[1]])' "$1"; }
TRANSFORMED_BUCKET="$(output TransformedBucketName)"

say "4/8 pipeline: SESSION_ENDED events for the samples in $SAMPLES"
pipeline_ok=1
target/debug/demo-genesys --out "$OUT/genesys-lex" || pipeline_ok=0

say "5/8 CLI: mlpipe transcripts convert $SAMPLES --out $OUT/cli, then a backfill of the raw bucket"
rm -rf "$OUT/cli"
cli_ok=1
target/debug/mlpipe transcripts convert "$SAMPLES" --out "$OUT/cli" || cli_ok=0
# The CLI and the Lambda function share one conversion: their files must be identical.
same=0 differ=0
for file in "$OUT"/cli/*.json; do
    [[ -f "$file" ]] || continue
    lambda_file="$OUT/genesys-lex/$TRANSFORMED_BUCKET/lex-designer/$(basename "$file")"
    if [[ -f "$lambda_file" ]] && cmp -s "$file" "$lambda_file"; then
        same=$((same + 1))
    else
        differ=$((differ + 1))
        echo "    differs from the pipeline's (or the pipeline has none): $file"
    fi
done
echo "    CLI vs pipeline designer files: $same identical, $differ different"
((differ == 0)) || cli_ok=0

# What the raw bucket holds now, converted again by the backfill state machine (the same
# designer bytes), with its report.
backfill_ok=1
BACKFILL_RUN="demo-backfill-$(date +%s)"
echo "    mlpipe transcripts backfill --prefix genesys/ --run-id $BACKFILL_RUN"
target/debug/mlpipe transcripts backfill --prefix genesys/ --run-id "$BACKFILL_RUN" || backfill_ok=0
rm -rf "$OUT/backfill"
.venv/bin/python - "$(output RawBucketName)" "$BACKFILL_RUN" "$OUT/backfill" <<'PY' || backfill_ok=0
import os, sys, boto3
from botocore.config import Config
bucket, run, out = sys.argv[1:]
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
os.makedirs(out, exist_ok=True)
for name in ("report.json", "report.csv"):
    s3.download_file(bucket, f"backfills/{run}/{name}", os.path.join(out, name))
    print(f"    {out}/{name}")
PY

say "6/8 image labels: detect-labels on uploads/demo/product-640x480.png"
labels_ok=1
.venv/bin/python - <<'PY' || labels_ok=0
import json, os, boto3
from botocore.config import Config
stack = json.load(open(os.environ["LOCALCLOUD_STACK_FILE"]))
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
s3.upload_file("events/images/product-640x480.png", stack["outputs"]["ImageUploadBucketName"],
               "uploads/demo/product-640x480.png")
event = json.load(open("events/apigw/detect-labels-post.json"))
event["body"] = json.dumps({"key": "uploads/demo/product-640x480.png", "maxLabels": 5})
answer = boto3.client("lambda", config=Config(read_timeout=60)).invoke(
    FunctionName=stack["resources"]["DetectLabels"]["physicalId"], Payload=json.dumps(event).encode())
response = json.load(answer["Payload"])
body = json.loads(response["body"])
print(f"    HTTP {response['statusCode']}")
for label in body.get("labels", []):
    boxes = [i["boundingBox"] for i in label.get("instances", [])]
    print(f"    {label['name']:<20} {label['confidence']:6.2f}%  boxes (for maskBoxes): {json.dumps(boxes)}")
assert response["statusCode"] == 200
PY

say "7/8 image job: mlpipe images run events/images --out $OUT/images"
rm -rf "$OUT/images"
images_ok=1
# The deployed (default) model, Stable Image Inpaint; no mask option: each image keeps its main
# subject (Stable Image Remove Background). The results have the inputs' sizes.
target/debug/mlpipe images run events/images \
    --prompt "a sunlit marble kitchen counter, soft morning light, photorealistic" \
    --negative "people, text, watermark" --images 2 --seed 42 \
    --job-id "demo-$(date +%s)" --out "$OUT/images" || images_ok=0
if ((images_ok)); then
    .venv/bin/python - "$OUT/images" <<'PY' || images_ok=0
import pathlib, struct, sys
out, samples = pathlib.Path(sys.argv[1]), pathlib.Path("events/images")
def size(p):
    b = p.read_bytes()
    if b.startswith(b"\x89PNG"):
        return struct.unpack(">II", b[16:24])
    i = 2  # JPEG: the first SOFn segment
    while i < len(b):
        marker, length = b[i + 1], struct.unpack(">H", b[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", b[i + 5:i + 9])
            return w, h
        i += 2 + length
ok = True
for result in sorted(p for p in out.rglob("*.png") if p.is_file()):
    if result.name.startswith("report"):
        continue
    source = samples / result.parent.name
    want, got = size(source) if source.exists() else None, size(result)
    print(f"    {result.relative_to(out)}: {got[0]}x{got[1]} (input {want[0]}x{want[1]})" if want else f"    {result}: {got}")
    ok &= want is None or tuple(want) == tuple(got)
sys.exit(0 if ok else 1)
PY
fi

say "8/8 Segment -> Personalize: events in, recommendations out"
segment_ok=1
.venv/bin/python scripts/lib/demo_segment.py || segment_ok=0

say "summary"
printf '  pipeline results   %s/genesys-lex/  (mirrors s3://<bucket>/<key> of the local cloud)\n' "$OUT"
printf '  CLI results        %s/cli/\n' "$OUT"
printf '  backfill report    %s/backfill/  (report.json, report.csv)\n' "$OUT"
printf '  image job          %s/images/  (<image>/<n>.png, report.html, report.json, report.csv)\n' "$OUT"
printf '  local cloud logs   .localcloud/*.log  (functions.log: the functions; relay.log: deliveries)\n'
if ((pipeline_ok)); then echo "  pipeline           OK"; else echo "  pipeline           FAILED (see above)"; fi
if ((cli_ok)); then echo "  CLI                OK"; else echo "  CLI                FAILED (see above)"; fi
if ((backfill_ok)); then echo "  backfill           OK"; else echo "  backfill           FAILED (see above)"; fi
if ((labels_ok)); then echo "  image labels       OK"; else echo "  image labels       FAILED (see above)"; fi
if ((images_ok)); then echo "  image job          OK"; else echo "  image job          FAILED (see above)"; fi
if ((segment_ok)); then echo "  Segment/Personalize OK"; else echo "  Segment/Personalize FAILED (see above)"; fi
if ((DOWN)); then
    echo "  the local cloud is taken down now"
else
    cat <<EOF

The local cloud is still running. To look around:
  source <(scripts/localcloud.sh env)
  .venv/bin/python -c "import boto3; print([o['Key'] for o in boto3.client('s3').list_objects_v2(Bucket='$TRANSFORMED_BUCKET')['Contents']])"
  cat .localcloud/stack.json     # the stack's outputs and physical ids
  scripts/localcloud.sh status | logs relay
Stop it with:
  scripts/localcloud.sh down
EOF
fi
((pipeline_ok && cli_ok && backfill_ok && labels_ok && images_ok && segment_ok))
