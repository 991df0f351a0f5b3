"""Shared by the CLI tests: each runs the real entry point inside its own tmp_path and cache."""

from __future__ import annotations

import pytest


@pytest.fixture
def env(image_folder, tmp_path, monkeypatch):
    """(the tiny image folder, tmp_path), with the cwd and $ARTISTRY_CACHE inside tmp_path."""
    monkeypatch.setenv("ARTISTRY_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return image_folder, tmp_path
