"""A small trained fraud model for tests (simulated data, trained once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from adapters.fraud.artifacts import ArtifactStore
from adapters.fraud.simulator import simulate
from adapters.fraud.training import train


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding one small LightGBM artifact; returns the directory."""
    root = tmp_path_factory.mktemp("fraud-model")
    simulate(5, root / "data", customers=150, days=7)
    train(root / "data", ArtifactStore(root / "models"), rounds=60)
    return root / "models"


def install_models(models: Path, data_dir: Path) -> list[str]:
    """Copy the trained artifacts into ``data_dir/models``; returns their versions."""
    target = data_dir / "models"
    shutil.copytree(models, target, dirs_exist_ok=True)
    return [str(meta["version"]) for meta in ArtifactStore(target).metas()]
