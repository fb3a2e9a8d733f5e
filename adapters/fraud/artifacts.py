"""Model artifacts on disk: ``<root>/<version>/model.txt`` and ``meta.json``.

A LightGBM model's text form round-trips byte for byte, so the sha256 of the text is the
model's version; loading checks it, so an artifact altered on disk is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ArtifactError(RuntimeError):
    """An artifact is missing or does not match its version."""


def model_version(model_text: str) -> str:
    return hashlib.sha256(model_text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Artifact:
    version: str
    model_text: str
    meta: dict[str, Any]


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, model_text: str, meta: dict[str, Any]) -> Artifact:
        version = model_version(model_text)
        folder = self.root / version
        folder.mkdir(parents=True, exist_ok=True)
        full = {**meta, "version": version}
        (folder / "model.txt").write_text(model_text, encoding="utf-8")
        (folder / "meta.json").write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
        return Artifact(version, model_text, full)

    def load(self, version: str) -> Artifact:
        folder = self.root / version
        try:
            text = (folder / "model.txt").read_text(encoding="utf-8")
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtifactError(f"no model artifact {version} under {self.root}") from None
        if model_version(text) != version:
            raise ArtifactError(f"model artifact {version} does not match its sha256")
        return Artifact(version, text, meta)

    def metas(self) -> list[dict[str, Any]]:
        """Every artifact's metadata, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for meta_file in self.root.glob("*/meta.json"):
            found.append(json.loads(meta_file.read_text(encoding="utf-8")))
        return sorted(found, key=lambda meta: str(meta.get("created_at", "")))

    def resolve(self, prefix: str) -> str:
        """The full version that starts with ``prefix`` (unique)."""
        matches = [m["version"] for m in self.metas() if str(m["version"]).startswith(prefix)]
        if len(matches) != 1:
            raise ArtifactError(f"{len(matches)} model artifacts match {prefix!r}")
        return str(matches[0])
