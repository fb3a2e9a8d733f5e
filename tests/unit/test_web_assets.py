"""The vendored browser assets (api/http/static/vendor) are the pinned npm packages' bytes, and a
package build ships every file the pages need.

``scripts/vendor-web-assets.py`` checked each npm tarball against its pinned sha512 and
recorded every file's sha256 and SRI in ``manifest.json``; here both are recomputed offline,
so a file edited, replaced or added after vendoring fails. Strawberry's own GraphiQL template
pins SRI hashes for the same unpkg files: where the versions agree, the hashes must be equal
(a second, independent witness that the files are the published ones).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import strawberry

from api.http.web_pages import GRAPHIQL_ASSETS, STATIC_DIR, SWAGGER_ASSETS, integrity
from tests.packaging_support import build_packages

ROOT = Path(__file__).resolve().parents[2]
VENDOR = STATIC_DIR / "vendor"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())["files"]


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_every_vendored_file_has_the_hashes_recorded_when_it_was_vendored() -> None:
    for relative, entry in MANIFEST.items():
        data = (VENDOR / relative).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], relative
        assert _sri(data) == entry["sri"], relative
        assert entry["tarball_integrity"].startswith("sha512-"), relative


def test_nothing_is_vendored_without_a_manifest_entry() -> None:
    on_disk = {
        path.relative_to(VENDOR).as_posix()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name != "manifest.json"
    }
    assert on_disk == set(MANIFEST)


def test_every_vendored_package_ships_its_licence() -> None:
    packages = {relative.split("/")[0] for relative in MANIFEST}
    for package in packages:
        assert f"{package}/LICENSE" in MANIFEST, package


def test_the_pages_reference_existing_files_with_their_recorded_integrity() -> None:
    for relative in (*GRAPHIQL_ASSETS, *SWAGGER_ASSETS):
        data = (STATIC_DIR / relative).read_bytes()
        assert integrity(relative) == _sri(data), relative


def test_the_files_strawberry_pins_on_unpkg_are_byte_for_byte_the_vendored_ones() -> None:
    template = (Path(strawberry.__file__).parent / "static" / "graphiql.html").read_text()
    pins = dict(
        re.findall(r'(?:src|href)="https://unpkg\.com/([^"]+)"\s+integrity="([^"]+)"', template)
    )
    ours = {
        f"{entry['package']}@{entry['version']}/{entry['source'].removeprefix('package/')}": entry
        for entry in MANIFEST.values()
    }
    # Where the versions agree (strawberry 0.341: react, react-dom, graphiql, the explorer;
    # its js-cookie only reads Django's CSRF cookie and is not vendored).
    for url in pins.keys() & ours.keys():
        assert ours[url]["sri"] == pins[url], url


def test_a_build_of_the_package_ships_every_static_file(tmp_path: Path) -> None:
    """setuptools' build_py over a copy of the sources, with pyproject's package-data."""
    built = build_packages(tmp_path) / "api" / "http" / "static"
    shipped = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    wanted = {p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*") if p.is_file()}
    assert wanted - shipped == set()
