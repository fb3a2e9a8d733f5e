#!/usr/bin/env python3
"""Vendor the browser pages' JavaScript and CSS into api/http/static/vendor/ from the npm registry.

The GraphiQL page (/graphql) and the API description page (/docs) are served with their
assets from the application itself, never from a CDN: on a bank network without internet a
CDN page renders nothing, and a CDN's script runs in a page that holds a bearer token.

For each pinned package this script runs ``npm pack NAME@VERSION`` (the ordinary npm client:
npm itself checks the tarball against the registry's ``dist.integrity``), then checks the
tarball against the sha512 pinned below (so a re-published or tampered version is refused),
copies only the files the pages need plus the licence texts, and writes
``api/http/static/vendor/manifest.json`` with each file's sha256 and SRI (sha384) and where it came
from. The pages put the manifest's SRI into ``integrity`` attributes; a unit test
(tests/unit/test_web_assets.py) recomputes every hash offline.

    scripts/vendor-web-assets.py           fetch, check, copy, write the manifest
    scripts/vendor-web-assets.py --check   fetch and check that the vendored files are the
                                           pinned packages' bytes (changes nothing)

To upgrade: change a version, run with ``--pin`` to print the new tarball integrity, put
it below, run again, and commit the files and the manifest together.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "api" / "static" / "vendor"
MANIFEST = VENDOR / "manifest.json"

# The explorer plugin's tarball carries no licence file; its package.json says MIT and it
# bundles graphiql-explorer (MIT): both licence texts come from their own tarballs.
EXPLORER_LICENSE_FROM = ("graphiql", "package/LICENSE")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    integrity: str  # the tarball's sha512, as the registry's dist.integrity
    files: dict[str, str]  # path in the tarball -> path under api/http/static/vendor/


PINS: tuple[Pin, ...] = (
    Pin(
        "react",
        "18.2.0",
        "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
        {
            "package/umd/react.production.min.js": "react/react.production.min.js",
            "package/LICENSE": "react/LICENSE",
        },
    ),
    Pin(
        "react-dom",
        "18.2.0",
        "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
        {
            "package/umd/react-dom.production.min.js": "react-dom/react-dom.production.min.js",
            "package/LICENSE": "react-dom/LICENSE",
        },
    ),
    Pin(
        "graphiql",
        "3.8.3",
        "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
        {
            "package/graphiql.min.js": "graphiql/graphiql.min.js",
            "package/graphiql.min.css": "graphiql/graphiql.min.css",
            "package/LICENSE": "graphiql/LICENSE",
        },
    ),
    Pin(
        "@graphiql/plugin-explorer",
        "1.0.2",
        "sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==",
        {
            "package/dist/index.umd.js": "graphiql-plugin-explorer/index.umd.js",
            "package/dist/style.css": "graphiql-plugin-explorer/style.css",
        },
    ),
    Pin(
        "graphiql-explorer",
        "0.9.0",
        "sha512-fZC/wsuatqiQDO2otchxriFO0LaWIo/ovF/CQJ1yOudmY0P7pzDiP+l9CEHUiWbizk3e99x6DQG4XG1VxA+d6A==",
        {"package/LICENSE": "graphiql-plugin-explorer/LICENSE.graphiql-explorer"},
    ),
    Pin(
        "swagger-ui-dist",
        "5.36.0",
        "sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==",
        {
            "package/swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
            "package/swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
            "package/LICENSE": "swagger-ui-dist/LICENSE",
            "package/NOTICE": "swagger-ui-dist/NOTICE",
            "package/swagger-ui-bundle.js.LICENSE.txt": (
                "swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt"
            ),
        },
    ),
)


def sha512_integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def npm_pack(pin: Pin, workdir: Path) -> bytes:
    """The package's tarball through the npm client, checked against the pinned sha512."""
    spec = f"{pin.name}@{pin.version}"
    result = subprocess.run(
        ["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
        cwd=workdir,
    )
    filename = json.loads(result.stdout)[0]["filename"]
    data = (workdir / filename).read_bytes()
    actual = sha512_integrity(data)
    if actual != pin.integrity:
        raise SystemExit(f"{spec}: tarball integrity {actual} is not the pinned {pin.integrity}")
    return data


def extract(tarball: bytes, member: str, workdir: Path) -> bytes:
    path = workdir / "tarball.tgz"
    path.write_bytes(tarball)
    with tarfile.open(path) as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise SystemExit(f"{member}: not a file in the tarball")
        return handle.read()


def collect() -> dict[str, tuple[bytes, dict[str, str]]]:
    """Every vendored file's bytes and its manifest entry, by path under vendor/."""
    out: dict[str, tuple[bytes, dict[str, str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        tarballs = {pin.name: npm_pack(pin, workdir) for pin in PINS}
        for pin in PINS:
            for member, target in pin.files.items():
                data = extract(tarballs[pin.name], member, workdir)
                out[target] = (data, _entry(pin, member, data))
        name, member = EXPLORER_LICENSE_FROM
        pin = next(p for p in PINS if p.name == name)
        data = extract(tarballs[name], member, workdir)
        out["graphiql-plugin-explorer/LICENSE"] = (data, _entry(pin, member, data))
    return out


def _entry(pin: Pin, member: str, data: bytes) -> dict[str, str]:
    return {
        "package": pin.name,
        "version": pin.version,
        "tarball_integrity": pin.integrity,
        "source": member,
        "sha256": hashlib.sha256(data).hexdigest(),
        "sri": sri(data),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="compare, write nothing")
    mode.add_argument("--pin", action="store_true", help="print each pinned tarball's integrity")
    args = parser.parse_args()
    if args.pin:
        with tempfile.TemporaryDirectory() as tmp:
            for pin in PINS:
                result = subprocess.run(
                    ["npm", "view", f"{pin.name}@{pin.version}", "dist.integrity"],
                    check=True,
                    capture_output=True,
                    text=True,
                    cwd=tmp,
                )
                print(pin.name, pin.version, result.stdout.strip())
        return 0
    files = collect()
    if args.check:
        different = [
            target
            for target, (data, _) in files.items()
            if not (VENDOR / target).is_file() or (VENDOR / target).read_bytes() != data
        ]
        manifest = json.loads(MANIFEST.read_text())
        stale = sorted(set(manifest["files"]) ^ set(files))
        for target in different + stale:
            print(f"differs from the pinned package: {target}", file=sys.stderr)
        return 1 if different or stale else 0
    for target, (data, _) in files.items():
        path = VENDOR / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    manifest = {
        "about": "scripts/vendor-web-assets.py wrote it; tests/unit/test_web_assets.py checks it",
        "files": {target: entry for target, (_, entry) in sorted(files.items())},
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"vendored {len(files)} files into {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
