#!/usr/bin/env bash
# Fuzzes every parser of outside input (tests/fuzz, cargo-fuzz / libFuzzer with AddressSanitizer)
# for SECONDS each (default 60) on one core, and fails on any crash, timeout or out-of-memory.
#
#   scripts/fuzz.sh [SECONDS] [--jobs N] [TARGET...]
#
#   SECONDS   fuzzing time per target (libFuzzer -max_total_time); 600 for the issue 14 campaign
#   --jobs N  run N targets at once (one core each; 2 on a 2-core machine), default 1
#   TARGET    only these targets (default: all of them, in the order below)
#
# Installs cargo-fuzz (pinned) into .tools/cargo-fuzz when missing, builds every target with
# RUSTC_BOOTSTRAP=1 (the sanitizer flag is nightly-only; the toolchain here is stable), seeds
# tests/fuzz/corpus/<target>/ from events/ and tests/fuzz/seeds/ (the corpus grows across runs:
# delete the directory to start over), runs each target with the memory of the function that
# runs the parser (template.yaml) as -rss_limit_mb, and prints per target the executions,
# executions per second, coverage (cov/ft of libFuzzer's last line), corpus size and peak RSS.
# A failure leaves its reproducer in tests/fuzz/artifacts/<target>/ (the script prints the
# path); replay it with `cargo fuzz run --fuzz-dir tests/fuzz <target> <file>` (tests/fuzz/README.md).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_DIR=$ROOT/tests/fuzz
CARGO_FUZZ_VERSION=0.13.2
TOOLS=$ROOT/.tools/cargo-fuzz

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

SECONDS_PER_TARGET=60
seconds_given=0
JOBS=1
SELECTED=()
while (($#)); do
    case $1 in
        --jobs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; JOBS=$2; shift 2 ;;
        --jobs=*) JOBS=${1#--jobs=}; [[ $JOBS =~ ^[1-9][0-9]*$ ]] || usage; shift ;;
        -h|--help) usage ;;
        -*) usage ;;
        *)
            if [[ $1 =~ ^[1-9][0-9]*$ ]] && ((!seconds_given && ${#SELECTED[@]} == 0)); then
                SECONDS_PER_TARGET=$1
                seconds_given=1
            else
                SELECTED+=("$1")
            fi
            shift ;;
    esac
done

# target  rss_limit_mb  timeout_s  dictionary  seeds  build
#   rss: the MemorySize of the function that runs the parser in template.yaml:
#   LexTranscriptConverter 256 (Globals), SegmentPersonalizeForwarder 256, StartImageJob 512,
#   GenerateBackground 2048.
#   timeout: a JSON document takes microseconds to milliseconds, so 5 s is a pathology; an image
#   of up to 50 megapixels is decoded, fitted, encoded and restored: about 2 s in the fuzz build,
#   so 30 s is a pathology too.
#   build: "full" is cargo fuzz's default (ASan, debug assertions and overflow checks, compare
#   tracing); "pixels" drops the overflow checks and compare tracing (ASan and its allocation
#   limit stay), which made pixel loops 40x and 8x slower than that: 5.9 s for one 640x480
#   photo fitted for Titan, 0.74 s without. Built in a target directory of its own.
TARGETS=(
    "genesys_convert          256   5 genesys  genesys  full"
    "skim_vs_serde            256   5 genesys  genesys  full"
    "segment_map              256   5 segment  segment  full"
    "segment_scanner_vs_serde 256   5 segment  segment  full"
    "image_manifest           512   5 manifest manifest full"
    "manifest_vs_task         512   5 manifest manifest full"
    "image_request            2048 30 image    images   pixels"
)

known() { local t; for t in "${TARGETS[@]}"; do [[ ${t%% *} == "$1" ]] && return 0; done; return 1; }
if ((${#SELECTED[@]})); then
    for s in "${SELECTED[@]}"; do known "$s" || { echo "fuzz.sh: unknown target $s" >&2; usage; }; done
fi

# --- cargo-fuzz, pinned ------------------------------------------------------------------------
if ! "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
    echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools/cargo-fuzz"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" --root "$TOOLS"
fi
export PATH="$TOOLS/bin:$PATH"
# -Zsanitizer=address is nightly-only; the workspace toolchain is stable.
export RUSTC_BOOTSTRAP=1
# A small machine shared with others: one compiler at a time unless told otherwise.
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}
# ASan's quarantine keeps up to 256 MB of freed memory to catch use-after-free; it would count
# against the functions' memory limits without being the parsers' memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=16:detect_odr_violation=0}

FUZZ=(cargo fuzz)
FLAGS=()
build_flags() { # build_flags <kind>: FLAGS= the cargo fuzz build options of a build kind
    case $1 in
        full) FLAGS=(--fuzz-dir "$FUZZ_DIR" --target-dir "$FUZZ_DIR/target") ;;
        pixels) FLAGS=(--fuzz-dir "$FUZZ_DIR" --target-dir "$FUZZ_DIR/target/pixels"
                       -O --no-trace-compares --disable-branch-folding false) ;;
    esac
}

ORDER=()
for spec in "${TARGETS[@]}"; do
    read -r target _ _ _ _ build <<< "$spec"
    if ((${#SELECTED[@]})) && [[ " ${SELECTED[*]} " != *" $target "* ]]; then continue; fi
    ORDER+=("$target")
    echo "fuzz.sh: building $target ($build)"
    build_flags "$build"
    "${FUZZ[@]}" build "${FLAGS[@]}" "$target"
done

# --- seed corpora -----------------------------------------------------------------------------
seed() { # seed <target> <file> [<name>]: copy into the corpus unless already there
    local dir=$FUZZ_DIR/corpus/$1
    mkdir -p "$dir"
    [[ -e $dir/seed-${3:-$(basename "$2")} ]] || cp "$2" "$dir/seed-${3:-$(basename "$2")}"
}
seed_corpus() { # seed_corpus <target> <kind>
    local target=$1 kind=$2 f sel
    shopt -s nullglob
    case $kind in
        genesys)
            for f in "$ROOT"/events/genesys/transcripts/*.json "$ROOT"/events/genesys/fixtures/transcript_*.json \
                     "$FUZZ_DIR"/seeds/genesys/*; do seed "$target" "$f"; done ;;
        segment)
            for f in "$ROOT"/events/segment/*.json "$ROOT"/events/segment/*.jsonl \
                     "$ROOT"/events/segment/fixtures/*.json "$FUZZ_DIR"/seeds/segment/*; do seed "$target" "$f"; done ;;
        manifest)
            for f in "$ROOT"/events/images/jobs/*.json "$ROOT"/events/images/invalid-task.json \
                     "$FUZZ_DIR"/seeds/manifest/*; do seed "$target" "$f"; done ;;
        images)
            # The first byte picks the model and the mask (image_request.rs): every choice for
            # every image, and the portrait photo again with an EXIF orientation (6: turn right).
            local tmp
            tmp=$(mktemp -d)
            for f in "$ROOT"/events/images/*.png "$ROOT"/events/images/*.jpg "$FUZZ_DIR"/seeds/images/*.png; do
                cp "$f" "$tmp/"
            done
            { head -c 2 "$ROOT/events/images/portrait-600x900.jpg"
              printf '\xff\xe1\x00\x22Exif\x00\x00II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00'
              tail -c +3 "$ROOT/events/images/portrait-600x900.jpg"; } > "$tmp/portrait-exif6.jpg"
            for f in "$tmp"/*; do
                for sel in 0 1 2 3 4 5 6 7; do
                    [[ -e $FUZZ_DIR/corpus/$target/seed-$sel-$(basename "$f") ]] && continue
                    mkdir -p "$FUZZ_DIR/corpus/$target"
                    { printf "\\x0$sel"; cat "$f"; } > "$FUZZ_DIR/corpus/$target/seed-$sel-$(basename "$f")"
                done
            done
            rm -rf "$tmp" ;;
    esac
    shopt -u nullglob
}

# --- runs -------------------------------------------------------------------------------------
LOGS=$FUZZ_DIR/artifacts/logs
mkdir -p "$LOGS"

run_target() { # run_target <target> <rss> <timeout> <dict> <build>
    local target=$1 rss=$2 timeout=$3 dict=$4 build=$5
    mkdir -p "$FUZZ_DIR/artifacts/$target"
    build_flags "$build"
    "${FUZZ[@]}" run "${FLAGS[@]}" "$target" "$FUZZ_DIR/corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" \
        -rss_limit_mb="$rss" \
        -timeout="$timeout" \
        -dict="$FUZZ_DIR/dict/$dict.dict" \
        -artifact_prefix="$FUZZ_DIR/artifacts/$target/" \
        -print_final_stats=1 \
        > "$LOGS/$target.log" 2>&1
}

for spec in "${TARGETS[@]}"; do
    read -r target rss timeout dict kind build <<< "$spec"
    if ((${#SELECTED[@]})) && [[ " ${SELECTED[*]} " != *" $target "* ]]; then continue; fi
    seed_corpus "$target" "$kind"
    while (($(jobs -rp | wc -l) >= JOBS)); do wait -n || true; done
    echo "fuzz.sh: $target for ${SECONDS_PER_TARGET}s (rss limit ${rss} MB, timeout ${timeout} s)"
    rm -f "$LOGS/$target.status"
    (
        if run_target "$target" "$rss" "$timeout" "$dict" "$build"; then echo 0; else echo $?; fi > "$LOGS/$target.status"
    ) &
done
wait

# --- summary ----------------------------------------------------------------------------------
failed=0
printf '\n%-26s %12s %9s %7s %8s %8s %9s %8s  %s\n' target executions exec/s cov ft corpus "corpus kB" "rss MB" result
for target in "${ORDER[@]}"; do
    log=$LOGS/$target.log
    status=$(cat "$LOGS/$target.status" 2>/dev/null || echo "?")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    peak=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    files=$(find "$FUZZ_DIR/corpus/$target" -type f | wc -l)
    kb=$(du -sk "$FUZZ_DIR/corpus/$target" | cut -f1)
    result=ok
    if [[ $status != 0 ]] || grep -qE '^==[0-9]+== ?ERROR|^SUMMARY: |ERROR: libFuzzer|deadly signal|panicked at' "$log"; then
        failed=1
        kind=$(grep -oE 'libFuzzer: (timeout|out-of-memory|deadly signal|fuzz target exited)|AddressSanitizer: [a-z-]+|panicked at' "$log" | head -1 || true)
        result="FAILED (${kind:-exit status $status})"
    fi
    printf '%-26s %12s %9s %7s %8s %8s %9s %8s  %s\n' "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$files" "$kb" "${peak:-?}" "$result"
done
echo
if ((failed)); then
    for target in "${ORDER[@]}"; do
        log=$LOGS/$target.log
        repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        [[ -n $repro ]] || continue
        echo "fuzz.sh: $target failed; reproducer: $repro"
        echo "          replay: cargo fuzz run --fuzz-dir tests/fuzz $target $repro   (log: $log)"
    done
    echo "fuzz.sh: FAILED (logs in $LOGS)"
    exit 1
fi
echo "fuzz.sh: no crash, timeout or out-of-memory in ${#ORDER[@]} target(s), ${SECONDS_PER_TARGET}s each (logs in $LOGS)"
