"""Shared pytest fixtures."""

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def reccon_dir():
    """The RECCON-DD annotation files kept beside the clone (../shared).

    They are never committed into the project; tests that need them are
    skipped where the folder is absent.
    """
    path = REPO_ROOT.parent / "shared" / "data" / "reccon"
    if not (path / "dailydialog_train.json").is_file():
        pytest.skip(f"RECCON files not found in {path}")
    return path
