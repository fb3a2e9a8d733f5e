"""Write docs/configuration.md from the settings classes (api/runtime/settings/).

Usage: python scripts/gen-configuration-doc.py [--check]
--check: exit 1 (and write nothing) when the checked-in doc differs from the generated one.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.runtime.settings.doc import render, write  # noqa: E402

DOC = ROOT / "docs" / "configuration.md"


def main(argv: list[str]) -> int:
    if "--check" in argv:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != render():
            print(f"{DOC.relative_to(ROOT)} is stale: run python scripts/gen-configuration-doc.py")
            return 1
        return 0
    print(f"{DOC.relative_to(ROOT)}: {'written' if write(DOC) else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
