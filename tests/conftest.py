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


@pytest.fixture(scope="session")
def ecf_dir():
    """The ECF train and dev files kept beside the clone (../shared); skipped where absent."""
    path = REPO_ROOT.parent / "shared" / "data" / "ecf"
    if not (path / "train.txt").is_file() or not (path / "dev.txt").is_file():
        pytest.skip(f"ECF files not found in {path}")
    return path


@pytest.fixture(scope="session")
def covidet_dir():
    """The CovidET-EXT train and val files kept beside the clone (../shared); skipped where absent."""
    path = REPO_ROOT.parent / "shared" / "data" / "covidet"
    if not (path / "CovidET-EXT_anonymized.json").is_file():
        pytest.skip(f"CovidET files not found in {path}")
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """Folder of a tiny random BERT (MiniLM vocabulary) to pass as ``encoder=``."""
    from tests.tiny_models import make_tiny_bert

    return str(make_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert"))


@pytest.fixture(scope="session")
def demo():
    """The built-in demo set: (X, y, groups)."""
    from empathy_cause import load_demo

    return load_demo()


@pytest.fixture(scope="session")
def demo_threads(demo):
    """8 of the demo set's 16 threads: (X, y, groups), for tests that fit many times."""
    import numpy as np

    X, y, groups = demo
    keep = np.isin(groups, np.unique(groups)[:8])
    return X[keep].reset_index(drop=True), y[keep], groups[keep]


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from a second thread, and it is fragile on a busy machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
