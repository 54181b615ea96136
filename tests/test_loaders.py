"""The loaders by name (load_dataset) and the built-in demo set."""

import numpy as np
import pytest

from empathy_cause.data import (
    PAIR_ID,
    POST,
    THREAD_ID,
    load_dataset,
    load_demo,
    split_sentences,
    validate_frame,
)
from tests.test_acnempathize import CSV

# -------------------------------------------------------------------- demo


def test_demo_set():
    X, y, groups = load_demo()
    validate_frame(X, y)
    assert X[PAIR_ID].nunique() == 40
    assert X[THREAD_ID].nunique() == 16
    assert 0.15 <= y.mean() <= 0.25
    assert (groups == X[THREAD_ID].to_numpy()).all()
    for post in X[POST].unique():
        assert 5 <= len(post) <= 10
        # Stored sentences follow the library's own splitter.
        assert split_sentences(" ".join(post)) == list(post)
    # Every reply has at least one cause.
    assert (np.bincount(X[PAIR_ID].factorize()[0], weights=y) >= 1).all()


# ---------------------------------------------------------- load_dataset


def test_load_dataset_dispatch(reccon_dir, tmp_path):
    assert len(load_dataset("demo")[0]) == len(load_demo()[0])
    assert len(load_dataset(reccon_dir, subset="valid")[0]) == 1166
    assert len(load_dataset(str(reccon_dir / "dailydialog_valid.json"))[0]) \
        == 1166
    (tmp_path / "c.csv").write_text(CSV, encoding="utf-8")
    assert len(load_dataset(tmp_path / "c.csv")[0]) == 8
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(ValueError, match="'demo'.*CovidET.*ECF.*RECCON.*CSV.*TSV.*JSON Lines.*Parquet"):
        load_dataset(tmp_path / "data.xlsx")
