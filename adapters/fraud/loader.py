"""Model versions from the artifact store, as LightGBM models (the
:class:`~application.fraud.ports.ModelLoader` port)."""

from __future__ import annotations

from adapters.fraud.artifacts import ArtifactStore
from application.fraud.ports import FraudModel


class ArtifactModelLoader:
    """Loads model versions from an :class:`ArtifactStore` (checking their sha256) as
    LightGBM models (the :class:`~application.fraud.ports.ModelLoader` port)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def load(self, version: str) -> FraudModel:
        # LightGBM (and NumPy, scikit-learn through it) take 1-2 s to import: only a process
        # that loads a promoted model pays for them, not every `ledger` command and role.
        from adapters.fraud.scoring import LightGBMModel

        return LightGBMModel(self.store.load(version))
