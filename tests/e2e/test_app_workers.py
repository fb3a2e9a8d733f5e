"""How the app runs background workers: readiness per role kind, and one shutdown."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app


class FakeWorker:
    def __init__(self, name: str, log: list[tuple[str, str]], ready: bool = True) -> None:
        self.name = name
        self.log = log
        self.ready = ready

    def start(self) -> None:
        self.log.append(("start", self.name))

    def request_stop(self) -> None:
        self.log.append(("request_stop", self.name))

    def shutdown(self, timeout: float = 30.0) -> None:
        assert 0 < timeout <= 40
        self.log.append(("shutdown", self.name))

    def readiness(self) -> dict[str, Any]:
        return {"ready": self.ready, "detail": "x"}


@pytest.mark.parametrize(("operations_only", "status"), [(True, 503), (False, 200)])
def test_an_unready_worker_makes_only_a_role_without_api_unready(
    container, operations_only: bool, status: int
):
    worker = FakeWorker("sweep", [], ready=False)
    app = create_app(container, operations_only=operations_only, workers=[worker])
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == status
    assert response.json()["checks"]["workers"] == {"sweep": {"detail": "x", "ready": False}}


def test_every_worker_is_told_to_stop_before_any_is_waited_for(container):
    log: list[tuple[str, str]] = []
    workers = [FakeWorker("a", log), FakeWorker("b", log)]
    app = create_app(container, operations_only=True, workers=workers)
    with TestClient(app):
        assert log == [("start", "a"), ("start", "b")]
    assert log[2:] == [
        ("request_stop", "a"),
        ("request_stop", "b"),
        ("shutdown", "a"),
        ("shutdown", "b"),
    ]
