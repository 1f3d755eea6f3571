#!/usr/bin/env bash
# Installs the project's local tool chain, pinned, into the work tree. Idempotent: a second run
# only checks versions and returns in seconds. Needs python3 (with venv + pip), node/npm and
# rustup/cargo; reaches only PyPI and the npm registry.
#
#   .venv/   moto[server] (local AWS), cargo-lambda + ziglang (Lambda builds: sam build),
#            aws-sam-cli, cfn-lint (template lint/build), boto3 (scripting against moto)
#   .tools/  asl-validator (npm; Step Functions definitions)
#   .tools/checkov/  checkov (template security checks) in a virtualenv of its own: its
#            dependencies cannot be resolved together with moto's and boto3's pins above
#   rustup   aarch64-unknown-linux-gnu target (sam build / cargo lambda build --arm64), best effort
#
# Environment: PYTHON (default python3), SETUP_SKIP_NPM=1, SETUP_SKIP_RUSTUP=1 to skip parts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# ---------------------------------------------------------------------------------- pins
# Bump deliberately, all together, and rerun this script.
PY_PINS=(
    "moto[server]==5.2.5"
    "cargo-lambda==1.9.2"
    "ziglang==0.15.2"
    "aws-sam-cli==1.170.0"
    "cfn-lint==1.58.0"
    "boto3==1.43.108"
    # The service models requests are checked against (the emulator, tests): botocore/data.
    "botocore==1.43.127"
)
# Installed alone in .tools/checkov (pip: checkov, boto3 and moto[server] pins conflict).
CHECKOV_PIN="checkov==3.3.30"
NPM_PINS=(
    "asl-validator@4.0.0"
)
RUST_TARGETS=(aarch64-unknown-linux-gnu)

PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
TOOLS="$ROOT/.tools"

say() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
    printf 'ERROR: %s\n' "$*" >&2
    exit 1
}

# ------------------------------------------------------------------------------ virtualenv
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
    say "creating virtualenv $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
else
    say "virtualenv $VENV exists ($("$VENV/bin/python" --version 2>&1))"
fi
VPY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# Which pins are not installed at exactly that version? (name==version, extras stripped)
installed="$("$VPY" -m pip list --format=freeze 2>/dev/null | tr 'A-Z_' 'a-z-')"
missing=()
for pin in "${PY_PINS[@]}"; do
    name="${pin%%==*}"
    name="${name%%[*}"
    version="${pin##*==}"
    key="$(printf '%s==%s' "$name" "$version" | tr 'A-Z_' 'a-z-')"
    if ! grep -qxF "$key" <<<"$installed"; then
        missing+=("$pin")
    fi
done
# moto's [server] extra: flask must be there too, or moto_server will not start.
if ! grep -q '^flask==' <<<"$installed" && ((${#missing[@]} == 0)); then
    missing+=("moto[server] extra (flask)")
fi

if ((${#missing[@]} > 0)); then
    say "pip install (${#missing[@]} pin(s) missing or at another version): ${missing[*]}"
    # Install the whole set in one resolver run so the pins stay mutually consistent.
    "$VPY" -m pip install --quiet "${PY_PINS[@]}"
else
    say "Python tools already at their pinned versions"
fi
for pin in "${PY_PINS[@]}"; do printf '    %s\n' "$pin"; done

# ------------------------------------------------------------------------- checkov (venv)
CHECKOV_VENV="$TOOLS/checkov"
checkov_version="${CHECKOV_PIN##*==}"
have_checkov=""
if [[ -x "$CHECKOV_VENV/bin/python" ]]; then
    have_checkov="$("$CHECKOV_VENV/bin/python" -m pip list --format=freeze 2>/dev/null | grep -i '^checkov==' || true)"
fi
if [[ "${have_checkov#*==}" == "$checkov_version" ]]; then
    say "checkov already at $checkov_version ($CHECKOV_VENV)"
else
    if [[ ! -x "$CHECKOV_VENV/bin/python" ]] || ! "$CHECKOV_VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        say "creating virtualenv $CHECKOV_VENV"
        rm -rf "$CHECKOV_VENV"
        mkdir -p "$TOOLS"
        "$PYTHON" -m venv "$CHECKOV_VENV" || die "python3 -m venv $CHECKOV_VENV failed"
    fi
    say "pip install $CHECKOV_PIN into $CHECKOV_VENV"
    "$CHECKOV_VENV/bin/python" -m pip install --quiet "$CHECKOV_PIN"
fi

# ------------------------------------------------------------------------------------ npm
if [[ "${SETUP_SKIP_NPM:-0}" == 1 ]]; then
    say "npm tools skipped (SETUP_SKIP_NPM=1)"
elif ! command -v npm >/dev/null 2>&1; then
    warn "npm not found: asl-validator not installed (scripts/lint.sh will fail its ASL check)"
else
    for pin in "${NPM_PINS[@]}"; do
        name="${pin%@*}"
        version="${pin##*@}"
        have=""
        if [[ -f "$TOOLS/node_modules/$name/package.json" ]]; then
            have="$(node -p "require('$TOOLS/node_modules/$name/package.json').version" 2>/dev/null || true)"
        fi
        if [[ "$have" == "$version" ]]; then
            say "npm $name already at $version"
        else
            say "npm install --prefix .tools $pin"
            mkdir -p "$TOOLS"
            npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error --save-exact "$pin" 2>&1 |
                grep -v 'Unknown user config' || true
            [[ -x "$TOOLS/node_modules/.bin/$name" ]] || die "npm install $pin failed"
        fi
    done
fi

# ---------------------------------------------------------------------------------- rustup
if [[ "${SETUP_SKIP_RUSTUP:-0}" == 1 ]]; then
    say "rustup targets skipped (SETUP_SKIP_RUSTUP=1)"
elif ! command -v rustup >/dev/null 2>&1; then
    warn "rustup not found: cannot add ${RUST_TARGETS[*]} (arm64 builds will fail)"
else
    have_targets="$(rustup target list --installed 2>/dev/null || true)"
    for target in "${RUST_TARGETS[@]}"; do
        if grep -qxF "$target" <<<"$have_targets"; then
            say "rustup target $target already installed"
        elif rustup target add "$target"; then
            say "rustup target $target added"
        else
            warn "rustup target add $target failed: sam build / cargo lambda build --arm64 will not work"
        fi
    done
fi

# -------------------------------------------------------------------------------- summary
say "done"
printf '    moto_server   %s\n' "$VENV/bin/moto_server"
printf '    cargo-lambda  %s (%s)\n' "$VENV/bin/cargo-lambda" "$("$VENV/bin/cargo-lambda" lambda --version 2>/dev/null || echo '?')"
printf '    sam           %s\n' "$VENV/bin/sam"
printf '    cfn-lint      %s\n' "$VENV/bin/cfn-lint"
printf '    checkov       %s\n' "$CHECKOV_VENV/bin/checkov"
if [[ -x "$TOOLS/node_modules/.bin/asl-validator" ]]; then
    printf '    asl-validator %s\n' "$TOOLS/node_modules/.bin/asl-validator"
fi
printf '    use: source <(scripts/localcloud.sh env) after scripts/localcloud.sh up\n'
