#!/usr/bin/env bash
# Build the backoffice-ledger image (deploy/Dockerfile, context = the repository root) with the
# package index settings of this host, so that the same command works with or without registry
# access:
#
#   scripts/build-image.sh                      # base python:3.11-slim-bookworm from the registry
#   BASE_IMAGE=backoffice-ledger-base:bookworm-py311 scripts/build-image.sh
#                                               # base made by scripts/build-base-image.sh (offline)
#
# What is taken from this host, at run time (nothing is written into the Dockerfile):
#   - pip's index-url / extra-index-url (environment, then `pip config`); file:// indexes and
#     find-links directories are left out, a container cannot see them;
#   - pip's CA bundle (PIP_CERT or `pip config` cert), passed as the BuildKit secret `pip-cert`
#     when the index is reached through a TLS proxy with its own CA; it lands in no layer.
# The build uses the host network (`--network host`): it works with an engine that has no bridge.
#
# Environment (all optional):
#   IMAGE        tag to build, default backoffice-ledger:dev
#   BASE_IMAGE   the Dockerfile's BASE_IMAGE argument; unset: the Dockerfile's default
#   DOCKER       docker client command; default: the first `docker` on PATH that can use BuildKit
#                (has the buildx plugin, or is older than 23 and has it built in)
#   PYTHON       the interpreter whose pip configuration is read, default python3
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
image="${IMAGE:-backoffice-ledger:dev}"
python="${PYTHON:-python3}"

die() {
    echo "build-image: ERROR: $*" >&2
    exit 1
}
say() { echo "build-image: $*"; }

# --- a docker client that builds with BuildKit (the Dockerfile uses a secret mount)
mode=""
pick_client() {
    local c version
    if [ -n "${DOCKER:-}" ]; then
        set -- "$DOCKER"
    else
        mapfile -t clients < <(type -ap docker)
        set -- "${clients[@]}"
    fi
    for c in "$@"; do
        if $c buildx version >/dev/null 2>&1; then
            docker_cmd="$c"
            mode=buildx
            return 0
        fi
        version="$($c version --format '{{.Client.Version}}' 2>/dev/null || true)"
        case "$version" in
            1[89].* | 2[0-2].*)
                docker_cmd="$c"
                mode=builtin
                return 0
                ;;
        esac
    done
    return 1
}
pick_client || die "no docker client with BuildKit found (install the buildx plugin, or set DOCKER)"
$docker_cmd info >/dev/null 2>&1 || die "no Docker engine answers to '$docker_cmd info'"

# --- this host's pip settings: the last value pip would use (environment wins over files)
pip_setting() { # KEY (index-url, extra-index-url, cert)
    local key="$1" env_name value
    env_name="PIP_$(echo "$key" | tr 'a-z-' 'A-Z_')"
    if [ -n "${!env_name:-}" ]; then
        echo "${!env_name}"
        return 0
    fi
    value="$("$python" -m pip config list 2>/dev/null |
        sed -n "s/^[^=]*\.$key='\(.*\)'\$/\1/p" | tail -n 1)"
    echo "$value"
}
reachable_urls() { # keep the http(s) URLs of a space separated list
    local u out=""
    for u in $1; do
        case "$u" in http://* | https://*) out="${out:+$out }$u" ;; esac
    done
    echo "$out"
}

build_args=()
[ -n "${BASE_IMAGE:-}" ] && build_args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
index_url="$(reachable_urls "$(pip_setting index-url)")"
extra_urls="$(reachable_urls "$(pip_setting extra-index-url)")"
[ -n "$index_url" ] && build_args+=(--build-arg "PIP_INDEX_URL=$index_url")
[ -n "$extra_urls" ] && build_args+=(--build-arg "PIP_EXTRA_INDEX_URL=$extra_urls")
cert="$(pip_setting cert)"
if [ -n "$cert" ] && [ -r "$cert" ]; then
    build_args+=(--secret "id=pip-cert,src=$cert")
fi

say "client $docker_cmd ($mode), image $image, base ${BASE_IMAGE:-<Dockerfile default>}"
say "pip: index ${index_url:-<PyPI default>}${extra_urls:+, extra $extra_urls}${cert:+, CA bundle $cert}"

cd "$root"
start=$(date +%s)
if [ "$mode" = buildx ]; then
    $docker_cmd buildx build --load --network host --progress plain \
        -f deploy/Dockerfile "${build_args[@]}" -t "$image" .
else
    DOCKER_BUILDKIT=1 $docker_cmd build --network host --progress plain \
        -f deploy/Dockerfile "${build_args[@]}" -t "$image" .
fi
say "built $image in $(($(date +%s) - start)) s"
$docker_cmd image ls "$image"
