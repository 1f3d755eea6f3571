#!/usr/bin/env bash
# Runs unit and handler tests built for aarch64 (the architecture the functions are deployed on)
# under qemu user-mode emulation, so the code paths that only arm64 takes (e.g. the portable JSON
# scanner instead of the SSE2 one) run their tests too. Not part of scripts/test.sh: it compiles
# everything a second time and emulation is slow (several minutes on a small machine).
#
#   scripts/test-arm64.sh                      the kit, the three core crates and the Genesys,
#                                              image-job and Segment functions
#   scripts/test-arm64.sh -p mlpipe-shared-core   any cargo test arguments instead
#
# Needs qemu-aarch64 and an aarch64 C cross compiler (Debian: qemu-user gcc-aarch64-linux-gnu
# libc6-dev-arm64-cross; installed with apt-get when missing and running as root) and the rustup
# target aarch64-unknown-linux-gnu (scripts/setup.sh adds it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu

if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null || [[ ! -d "$SYSROOT/lib" ]]; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        echo "==> apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
        apt-get install -y -q qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
    else
        echo "needs qemu-aarch64 and aarch64-linux-gnu-gcc (Debian: qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross)" >&2
        exit 2
    fi
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $SYSROOT"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc

args=("$@")
if ((${#args[@]} == 0)); then
    args=(-p mlpipe-shared-core -p mlpipe-json-scan -p mlpipe-shared --all-features
        -p genesys-lex-core -p image-background-core -p segment-personalize-core
        -p lex-transcript-converter -p genesys-transcript-fetcher
        -p start-image-job -p segment-personalize-forwarder)
fi
# The emulator the handler tests start checks requests against botocore's models in .venv.
bash "$ROOT/scripts/setup.sh" >/dev/null
echo "==> cargo test --target $TARGET ${args[*]} (under qemu-aarch64)"
exec cargo test --target "$TARGET" "${args[@]}"
