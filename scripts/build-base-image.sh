#!/usr/bin/env bash
# Build a local base image for deploy/Dockerfile without a container registry.
#
# Why: deploy/Dockerfile starts FROM python:3.11-slim-bookworm, pulled from Docker Hub. A machine
# that reaches only the Debian archive and PyPI (an offline build host, this project's development
# machines) cannot pull it. This script makes an equivalent base from Debian packages instead:
# a minimal Debian bookworm root filesystem (debootstrap --variant=minbase) with Debian's Python
# 3.11 (python3, python3-venv), imported as a local image. Build with it through the Dockerfile's
# BASE_IMAGE argument: `make image` does both (the build itself is scripts/build-image.sh). In a
# normal pipeline with registry access none of this is used: the Dockerfile's default base is
# pulled from the registry.
#
# The image is named for what it is (default backoffice-ledger-base:bookworm-py311), never as
# python:*; it exists only in the local engine and is not pushed anywhere.
#
# Usage: scripts/build-base-image.sh [IMAGE_TAG]
# Environment (all optional):
#   DEBIAN_MIRROR           Debian archive URL; default: read from this host's apt sources
#   DEBIAN_SECURITY_MIRROR  Debian security archive URL; default: read from the apt sources,
#                           left out of the image's sources if none is found
#   DOCKER                  docker client command, default docker
#   BASE_WORKDIR            scratch directory for the root filesystem, default a mktemp dir
# Needs root (debootstrap), debootstrap and a running Docker engine.
set -euo pipefail

tag="${1:-backoffice-ledger-base:bookworm-py311}"
suite=bookworm
docker_cmd="${DOCKER:-docker}"

die() {
    echo "build-base-image: ERROR: $*" >&2
    exit 1
}
say() { echo "build-base-image: $*"; }

# URIs of the apt sources (deb822 *.sources and one-line *.list) that serve suite $1 with the
# main component, first one printed first. Only files apt itself reads are looked at.
apt_uris_for_suite() {
    local want="$1" f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v want="$want" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " want " ") &&
                    (" " comps " ") ~ / main /) { n = split(uris, u, " "); for (i = 1; i <= n; i++) print u[i] }
                types = uris = suites = comps = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^Types:/      { sub(/^Types:[ \t]*/, "");      types = $0 }
            /^URIs:/       { sub(/^URIs:[ \t]*/, "");       uris = $0 }
            /^Suites:/     { sub(/^Suites:[ \t]*/, "");     suites = $0 }
            /^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
            END { flush() }
        ' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        # deb [options] URI SUITE COMPONENT...
        sed -e 's/\[[^]]*\]//' "$f" | awk -v want="$want" '
            $1 == "deb" && $3 == want { for (i = 4; i <= NF; i++) if ($i == "main") { print $2; break } }'
    done
}

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found (Debian: apt-get install debootstrap)"
$docker_cmd info >/dev/null 2>&1 || die "no Docker engine answers to '$docker_cmd info'"

mirror="${DEBIAN_MIRROR:-$(apt_uris_for_suite "$suite" | head -n 1)}"
[ -n "$mirror" ] || die "no Debian mirror for '$suite' in the apt sources; set DEBIAN_MIRROR"
security="${DEBIAN_SECURITY_MIRROR:-$(apt_uris_for_suite "$suite-security" | head -n 1)}"
updates="$(apt_uris_for_suite "$suite-updates" | head -n 1)"

workdir="${BASE_WORKDIR:-$(mktemp -d /tmp/ledger-base.XXXXXX)}"
rootfs="$workdir/rootfs"
cleanup() { rm -rf "$workdir"; }
trap cleanup EXIT
rm -rf "$rootfs"
mkdir -p "$rootfs"

say "debootstrap $suite (minbase + python3, python3-venv) from the host's apt mirror"
debootstrap --variant=minbase --components=main --include=python3,python3-venv \
    "$suite" "$rootfs" "$mirror" >"$workdir/debootstrap.log" 2>&1 ||
    {
        tail -n 30 "$workdir/debootstrap.log" >&2
        die "debootstrap failed"
    }

# The image's own apt sources: the same archives, so that `apt-get install` in a Dockerfile RUN
# step (host network) reaches them the way this host does.
{
    echo "deb $mirror $suite main"
    if [ -n "$updates" ]; then echo "deb $updates $suite-updates main"; fi
    if [ -n "$security" ]; then echo "deb $security $suite-security main"; fi
} >"$rootfs/etc/apt/sources.list"

# Keep it small, like the slim images: no documentation, manual pages or translations from now on,
# and none of what debootstrap left behind.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
# apt as in the official Debian images: no package caches or downloaded .debs left in a layer.
cat >"$rootfs/etc/apt/apt.conf.d/01-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Apt::AutoRemove::SuggestsImportant "false";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
Acquire::CompressionTypes::Order:: "gz";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF
chroot "$rootfs" apt-get clean
find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old
# Host files that debootstrap copied in; the engine provides its own at run time.
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/hostname"

python_version="$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
case "$python_version" in 3.11.*) ;; *) die "expected Python 3.11 in $suite, found $python_version" ;; esac

say "importing as $tag (Python $python_version)"
tar --numeric-owner -C "$rootfs" -c . |
    $docker_cmd import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --message "Debian $suite minbase + python3 $python_version (scripts/build-base-image.sh)" \
        - "$tag" >/dev/null
$docker_cmd image ls "$tag"
