"""Constant-memory prediction: chunked CSV reading, chunked predict_proba, the streaming CLI."""

import io

import numpy as np
import pandas as pd
import pytest

from empathy_cause import (
    EmpathyCauseClassifier,
    frame_to_pairs,
    iter_acnempathize_cause,
    iter_frame_chunks,
    iter_predict_proba,
    load_acnempathize_cause,
)
from empathy_cause.cli.command import main
from empathy_cause.data import REPLY
from empathy_cause.encoders.encoding import clear_embedding_cache
from tests.test_loaders import CSV


def _demo_csv(X, y, path):
    """The demo set in the AcnEmpathize-Cause CSV layout (one record per pair)."""
    pairs = frame_to_pairs(X, y)
    table = pd.DataFrame({"thread_id": pairs["thread_id"],
                          "post_sentences": [repr(list(p)) for p in pairs["post"]],
                          "reply": pairs["reply"], "labels": [repr(list(v)) for v in pairs["labels"]]})
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("chunk_pairs", [1, 2, 3, 100])
def test_csv_chunks_add_up_to_the_whole_file(tmp_path, chunk_pairs):
    path = tmp_path / "cause.csv"
    path.write_text(CSV, encoding="utf-8")
    X, y, groups = load_acnempathize_cause(path)
    chunks = list(iter_acnempathize_cause(path, chunk_pairs=chunk_pairs))
    assert len(chunks) == -(-3 // chunk_pairs)  # the file holds 3 pairs
    pd.testing.assert_frame_equal(pd.concat([c[0] for c in chunks], ignore_index=True), X)
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), y)
    np.testing.assert_array_equal(np.concatenate([c[2] for c in chunks]), groups)
    # The same from a binary file object.
    again = list(iter_acnempathize_cause(io.BytesIO(CSV.encode()), chunk_pairs=chunk_pairs))
    pd.testing.assert_frame_equal(pd.concat([c[0] for c in again], ignore_index=True), X)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_both_csv_readers_give_the_same_rows_and_ids_whatever_the_line_endings(tmp_path, newline):
    """CRLF and CR-only files, a line break inside a quoted reply included, read as the LF file does."""
    lf = tmp_path / "lf.csv"
    lf.write_bytes(CSV.encode())
    other = tmp_path / "other.csv"
    other.write_bytes(CSV.replace("\n", newline).encode())
    X, y, _ = load_acnempathize_cause(lf)
    assert X[REPLY][0] == "So sorry.\nIt gets better."  # the quoted line break
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + other.read_bytes())
    sources = [lambda: other, lambda: io.BytesIO(other.read_bytes()), lambda: bom,
               lambda: open(bom, encoding="utf-8", newline=""),
               lambda: open(other, encoding="utf-8", newline=""), lambda: open(other, encoding="utf-8", newline="\n")]
    for source in sources:
        pd.testing.assert_frame_equal(load_acnempathize_cause(source())[0], X)
        for chunk_pairs in (1, 2, 100):
            chunks = list(iter_acnempathize_cause(source(), chunk_pairs=chunk_pairs))
            pd.testing.assert_frame_equal(pd.concat([c[0] for c in chunks], ignore_index=True), X)
            np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]), y)
    # Error lines are counted alike too: the third pair starts on line 5 in every file.
    bad = other.read_bytes().replace(b'"[1, 0]"', b'"[1, 0, 1]"')
    for read in (lambda: load_acnempathize_cause(io.BytesIO(bad)),
                 lambda: list(iter_acnempathize_cause(io.BytesIO(bad), chunk_pairs=1))):
        with pytest.raises(ValueError, match="CSV line 5.*3 labels for 2 post sentences"):
            read()


def test_csv_chunk_errors_name_the_file_line():
    bad = CSV.replace('"[1, 0]"', '"[1, 0, 1]"', 1)  # the third pair, on line 5
    chunks = iter_acnempathize_cause(io.StringIO(bad), chunk_pairs=2)
    next(chunks)
    with pytest.raises(ValueError, match=r"CSV line 5.*3 labels for 2 post sentences"):
        next(chunks)
    with pytest.raises(ValueError, match="chunk_pairs must be a positive int"):
        next(iter_acnempathize_cause(io.StringIO(CSV), chunk_pairs=0))


def test_frame_chunks_end_at_pair_boundaries(demo):
    X, y, _ = demo
    chunks = list(iter_frame_chunks(X, y, chunk_pairs=4))
    assert len(chunks) == -(-X["pair_id"].nunique() // 4)
    seen = set()
    for chunk, labels in chunks:
        pairs = set(chunk["pair_id"])
        assert len(pairs) <= 4 and not pairs & seen  # no pair is cut across chunks
        seen |= pairs
        np.testing.assert_array_equal(labels, y[chunk.index])
    pd.testing.assert_frame_equal(pd.concat([c for c, _ in chunks]), X)


def test_iter_predict_proba_matches_predict_proba(tiny_bert, demo, one_torch_thread):
    X, y, _ = demo
    clf = EmpathyCauseClassifier(tiny_bert, max_epochs=1, validation_fraction=None, precision="fp32",
                                 hidden_size=16, random_state=0).fit(X, y)
    clear_embedding_cache()
    whole = clf.predict_proba(X)
    clear_embedding_cache()
    chunked = np.concatenate(list(iter_predict_proba(clf, X, chunk_pairs=3)))
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    frames = (chunk for chunk, _ in iter_frame_chunks(X, chunk_pairs=5))
    np.testing.assert_allclose(np.concatenate(list(iter_predict_proba(clf, frames))), whole, atol=1e-5)
    with pytest.raises(TypeError, match="iterable of DataFrames"):
        next(iter_predict_proba(clf, 3))


def test_streamed_cli_predict_equals_the_whole_input(tiny_bert, demo, tmp_path, capsys):
    X, y, _ = demo
    model = tmp_path / "model"
    assert main(["train", "--data", "demo", "--model", str(model), "--encoder", tiny_bert, "--max-epochs", "1",
                 "--param", "hidden_size=16", "--param", "precision=fp32"]) == 0
    data = _demo_csv(X, y, tmp_path / "demo.csv")
    X_csv, _, _ = load_acnempathize_cause(data)

    # Today's output: the whole input predicted at once.
    clf = EmpathyCauseClassifier.load(model)
    clear_embedding_cache()
    proba = clf.predict_proba(X_csv)[:, 1]
    expected = pd.DataFrame({"pair_id": X_csv["pair_id"], "thread_id": X_csv["thread_id"],
                             "sentence_index": X_csv["sentence_index"],
                             "sentence": [p[i] for p, i in zip(X_csv["post"], X_csv["sentence_index"], strict=True)],
                             "probability": proba,
                             "prediction": (proba >= clf.decision_threshold()).astype(int)})

    outputs = {}
    for chunk_pairs in (3, 100_000):
        out = tmp_path / f"preds-{chunk_pairs}.csv"
        assert main(["predict", "--model", str(model), "--data", str(data), "--out", str(out),
                     "--chunk-pairs", str(chunk_pairs)]) == 0
        assert f"Wrote {len(X_csv)} predictions" in capsys.readouterr().out
        outputs[chunk_pairs] = pd.read_csv(out, dtype={"pair_id": str, "thread_id": str})
    for table in outputs.values():
        assert list(table.columns) == list(expected.columns) and len(table) == len(expected)
        for column in ("pair_id", "thread_id", "sentence_index", "sentence", "prediction"):
            assert table[column].tolist() == expected[column].tolist()
        np.testing.assert_allclose(table["probability"], expected["probability"], atol=1e-5)

    # Standard output, streamed: one header, every row.
    assert main(["predict", "--model", str(model), "--data", str(data), "--chunk-pairs", "2"]) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert printed["sentence"].tolist() == expected["sentence"].tolist()

    # evaluate streams too, and scores every row.
    assert main(["evaluate", "--model", str(model), "--data", str(data), "--chunk-pairs", "4", "--json"]) == 0
    assert f'"n_sentences": {len(X_csv)}' in capsys.readouterr().out
