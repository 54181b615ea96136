"""The RECCON loader (data/reccon.py): counts, the mapping, missing files, fetch_reccon."""

import io
import json
import shutil
import urllib.error
import urllib.request

import pytest

from empathy_cause.data import (
    PAIR_ID,
    POST,
    REPLY,
    SENTENCE_INDEX,
    THREAD_ID,
    fetch_reccon,
    load_reccon,
    validate_frame,
)

# ------------------------------------------------------------------ RECCON


@pytest.mark.parametrize("subset, pairs, rows, positives", [
    ("train", 4562, 27673, 7027),
    ("valid", 200, 1166, 328),
])
def test_reccon_counts(reccon_dir, subset, pairs, rows, positives):
    X, y, groups = load_reccon(reccon_dir, subset=subset)
    assert X[PAIR_ID].nunique() == pairs
    assert len(X) == len(y) == len(groups) == rows
    assert y.sum() == positives
    assert (groups == X[THREAD_ID].to_numpy()).all()
    validate_frame(X, y)


def test_reccon_mapping(reccon_dir):
    X, y, _ = load_reccon(reccon_dir / "dailydialog_valid.json")
    rows = X[PAIR_ID] == "va_980_t5"
    pair = X[rows]
    assert pair[SENTENCE_INDEX].tolist() == [0, 1, 2, 3, 4]
    assert y[rows.to_numpy()].tolist() == [0, 0, 0, 1, 1]  # evidence [4, 5]
    post = pair[POST].iloc[0]
    assert post[0].startswith("Mr . Bryant ?")  # utterances are not split
    assert pair[REPLY].iloc[0] == post[-1]
    assert pair[THREAD_ID].iloc[0] == "va_980"
    assert set(pair["emotion"]) == {"happiness"}
    assert set(pair["speaker"]) == {"A"}
    assert pair["speakers"].iloc[0] == ("A", "B", "A", "B", "A")


def _write_dialogues(path):
    utterances = [
        {"turn": 1, "speaker": "A", "utterance": "I lost my job .",
         "emotion": "sadness", "expanded emotion cause evidence": [1, "b"]},
        {"turn": 2, "speaker": "B", "utterance": "Oh no !",
         "emotion": "neutral"},
        {"turn": 3, "speaker": "A", "utterance": "I start a new one Monday !",
         "emotion": "happiness",
         "expanded emotion cause evidence": ["b", 3, 3, 7]},
    ]
    path.write_text(json.dumps({"tr_1": [utterances]}), encoding="utf-8")


def test_reccon_mapping_on_a_tiny_file(tmp_path):
    _write_dialogues(tmp_path / "dailydialog_train.json")
    X, y, groups = load_reccon(tmp_path)
    assert X[PAIR_ID].tolist() == ["tr_1_t1", "tr_1_t3", "tr_1_t3", "tr_1_t3"]
    # "b" (a cause outside the dialogue) and turn 7 (after t) are ignored.
    assert y.tolist() == [1, 0, 0, 1]
    assert X[REPLY].tolist()[1:] == ["I start a new one Monday !"] * 3
    assert X["emotion"].tolist() == ["sadness"] + ["happiness"] * 3
    assert X["speakers"].tolist() == [("A",)] + [("A", "B", "A")] * 3
    assert groups.tolist() == ["tr_1"] * 4


def test_reccon_missing_file_lists_the_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError,
                       match=r"dailydialog_valid\.json.*\['notes\.txt'\]"):
        load_reccon(tmp_path, subset="valid")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_reccon(tmp_path / "nowhere" / "x.json")
    with pytest.raises(ValueError, match="subset must be one of"):
        load_reccon(tmp_path, subset="dev")


class _NoNetwork:
    """A stand-in for urlopen that records calls and fails like no network."""

    def __init__(self):
        self.calls = []

    def __call__(self, url, timeout=None):
        self.calls.append((url, timeout))
        raise urllib.error.URLError("no network")


def test_fetch_reccon_offline_raises_a_clear_oserror(tmp_path, monkeypatch):
    urlopen = _NoNetwork()
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(OSError, match=r"could not download.*no network.*"
                       r"place it at .*reccon.dailydialog_valid\.json"):
        fetch_reccon(tmp_path, subset="valid")
    assert urlopen.calls == [(
        "https://raw.githubusercontent.com/declare-lab/RECCON/main/data/"
        "original_annotation/dailydialog_valid.json", 30)]
    assert list((tmp_path / "reccon").iterdir()) == []  # nothing half-written


def test_fetch_reccon_without_download(tmp_path, monkeypatch):
    urlopen = _NoNetwork()
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(OSError, match="download_if_missing=False"):
        fetch_reccon(tmp_path, download_if_missing=False)
    assert urlopen.calls == []


def test_fetch_reccon_downloads_once(reccon_dir, tmp_path, monkeypatch):
    payload = (reccon_dir / "dailydialog_valid.json").read_bytes()
    calls = []

    def urlopen(url, timeout=None):
        calls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setenv("EMPATHY_CAUSE_DATA", str(tmp_path))
    X, y, _ = fetch_reccon(subset="valid")  # data_home from the environment
    assert len(X) == 1166 and y.sum() == 328
    assert (tmp_path / "reccon" / "dailydialog_valid.json").read_bytes() \
        == payload
    monkeypatch.setattr(urllib.request, "urlopen", _NoNetwork())
    assert len(fetch_reccon(tmp_path, subset="valid")[0]) == 1166
    assert len(calls) == 1


def test_fetch_reccon_refuses_a_non_json_download(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout=None: io.BytesIO(b"<html>"))
    with pytest.raises(OSError, match="could not download"):
        fetch_reccon(tmp_path)
    assert list((tmp_path / "reccon").iterdir()) == []


def test_fetch_reccon_uses_a_file_placed_by_hand(reccon_dir, tmp_path,
                                                 monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", _NoNetwork())
    (tmp_path / "reccon").mkdir()
    shutil.copy(reccon_dir / "dailydialog_valid.json", tmp_path / "reccon")
    assert len(fetch_reccon(tmp_path, subset="valid",
                            download_if_missing=False)[0]) == 1166
