#!/usr/bin/env bash
# Throughput and peak memory of `mlpipe transcripts convert DIR --out DIR` on generated corpora
# of increasing size (issue 13: peak memory must not grow with the corpus).
#
#   scripts/transcripts-memory.sh            builds the release CLI, then measures ~100 MB, ~400 MB
#                                            and ~2 GB corpora; prints a markdown table
#   SIZES="100 400" scripts/transcripts-memory.sh     other sizes (MB)
#   MLPIPE=/path/to/mlpipe scripts/transcripts-memory.sh   measure that binary (no build)
#   COMPARE=/path/to/other/mlpipe            also measure this one on the same corpora (e.g. a build
#                                            of an older commit): one row per binary and corpus
#   RUNS=3 (default)                         runs per corpus: the median time, the largest peak RSS
#
# The corpora (cli/bench/make_corpus.py: documents of ~250 kB in the published shape with
# word-level detail, conversation folders of 1-3 communications, 10% loose files; deterministic
# per size) are written one at a time under a temporary directory, which is removed at the end.
# The timed runs read them from the page cache (they were just written, then synced): this
# measures the CLI, not the disk. Peak RSS is GNU time's maximum resident set size.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SIZES=${SIZES:-"100 400 2000"}
RUNS=${RUNS:-3}
MLPIPE=${MLPIPE:-}
if [ -z "$MLPIPE" ]; then
    cargo build --release -p mlpipe >&2
    MLPIPE="$ROOT/target/release/mlpipe"
fi
BINARIES=("$MLPIPE")
[ -n "${COMPARE:-}" ] && BINARIES+=("$COMPARE")
for bin in "${BINARIES[@]}"; do
    [ -x "$bin" ] || { echo "no executable mlpipe at $bin" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is needed for the peak memory" >&2; exit 1; }

# One corpus on disk at a time, plus its outputs (~5% of it): the largest size and a margin.
TMP=${TMPDIR:-/tmp}
largest=0
for mb in $SIZES; do [ "$mb" -gt "$largest" ] && largest=$mb; done
need_mb=$((largest * 13 / 10 + 100))
avail_mb=$(df -Pm "$TMP" | awk 'NR == 2 { print $4 }')
df -h "$TMP" >&2
if [ "$avail_mb" -lt "$need_mb" ]; then
    echo "$TMP has $avail_mb MB free, the ${largest} MB corpus needs about $need_mb MB" >&2
    exit 1
fi

work=$(mktemp -d "$TMP/transcripts-memory.XXXXXX")
trap 'rm -rf "$work"' EXIT

header="| corpus MB | files | conversations | seconds | MB/s | peak RSS MB |"
rule="|---|---|---|---|---|---|"
if [ "${#BINARIES[@]}" -gt 1 ]; then header="| mlpipe $header"; rule="|---$rule"; fi
echo "$header"
echo "$rule"
for mb in $SIZES; do
    # "<files> files, <conversations> conversations, <bytes> bytes"
    read -r files _ conversations _ bytes _ < <(
        python3 cli/bench/make_corpus.py --out "$work/in" --size-mb "$mb" --seed "$mb")
    sync # the corpus on disk: no write-back competing with the timed runs
    for bin in "${BINARIES[@]}"; do
        times=()
        peak_kb=0
        for _ in $(seq "$RUNS"); do
            rm -rf "$work/out"
            /usr/bin/time -v -o "$work/time" "$bin" transcripts convert "$work/in" --out "$work/out" \
                >"$work/summary" || { cat "$work/summary" "$work/time" >&2; exit 1; }
            # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.23"
            seconds=$(awk -F': ' '/Elapsed \(wall clock\)/ {
                n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$work/time")
            kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
            times+=("$seconds")
            [ "$kb" -gt "$peak_kb" ] && peak_kb=$kb
        done
        head -1 "$work/summary" >&2
        median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }')
        label=""
        [ "${#BINARIES[@]}" -gt 1 ] && label="| $bin "
        awk -v l="$label" -v b="$bytes" -v f="$files" -v c="$conversations" -v s="$median" -v k="$peak_kb" 'BEGIN {
            if (s < 0.01) s = 0.01
            printf "%s| %.0f | %d | %d | %.2f | %.0f | %.1f |\n", l, b / 1e6, f, c, s, b / 1e6 / s, k / 1024 }'
    done
    rm -rf "$work/in" "$work/out"
done
