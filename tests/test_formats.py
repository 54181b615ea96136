"""Your own data in, your own ids out: the format registry, the pairs files and the prediction road.

Every file here is written by the test (tmp_path): a researcher's forum posts
as raw text with their own ids, as CSV, TSV, JSON Lines and Parquet.
"""

import json

import numpy as np
import pandas as pd
import pytest

from empathy_cause.cli import main
from empathy_cause.data import (
    find_format,
    iter_dataset,
    load_acnempathize_cause,
    load_dataset,
    pairs_to_frame,
)

# Ids as a user writes them: 007 and 7 are two threads, 1e5 is not 100000, 23-digit ids differ in the last digit.
PAIRS = pd.DataFrame({
    "pair_id": ["p-007", "p7", "12345678901234567890123", "12345678901234567890124", "1e5", "100000"],
    "thread_id": ["007", "7", "12345678901234567890123", "12345678901234567890124", "1e5", "100000"],
    "post": ["I moved back in with my parents at 30 after my divorce. I feel like a failure. Anyway, how is the "
             "weather?",
             "My skin got worse this winter. I use a BHA wash. Nobody at work talks to me anymore!",
             "I failed my driving test again... My dad laughed. I want to give up.",
             "I started a new job. The commute is long. I cry in the car every morning.",
             "My dog died last week. I keep setting out her bowl. The house is so quiet.",
             "I use 0.025% tretinoin. It burns. I hate how my face looks."],
    "reply": ["Divorce is hard, and moving home is not failing.", "Winter was rough on me too, you are not alone.",
              "Tests are scary; it took me four tries.", "Crying in the car is more common than you think.",
              "I am so sorry about your dog.", "Tretinoin burns at first, hang in there."],
    "labels": [[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, 1], [1, 1, 1], [0, 1, 1]],
    "title": ["Divorce", "Skin", "Driving", "Work", "Dog", "Tret"],
})


def _write(pairs, path):
    """``pairs`` as the file ``path`` (its suffix picks the format), the post as raw text."""
    kind = path.suffix
    if kind in (".csv", ".tsv"):
        table = pairs.assign(labels=[json.dumps(v) for v in pairs["labels"]])
        table.to_csv(path, index=False, sep="," if kind == ".csv" else "\t")
    elif kind == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in pairs.to_dict("records")), encoding="utf-8")
    else:
        pairs.to_parquet(path)
    return path


@pytest.fixture(params=[".csv", ".tsv", ".jsonl", ".parquet"])
def pairs_file(request, tmp_path):
    return _write(PAIRS, tmp_path / f"mine{request.param}")


def test_every_format_reads_raw_posts_and_ids_as_written_with_no_flag(pairs_file):
    X, y, groups = load_dataset(pairs_file)
    assert find_format(pairs_file).name == pairs_file.suffix[1:]
    assert X["post"].iloc[0] == ("I moved back in with my parents at 30 after my divorce.", "I feel like a failure.",
                                 "Anyway, how is the weather?")  # split with the paper's splitter
    assert X["post"].iloc[-1][0] == "I use 0.025% tretinoin."
    pair_ids = list(dict.fromkeys(X["pair_id"]))
    assert pair_ids == list(PAIRS["pair_id"])  # the user's own ids, as text
    assert list(dict.fromkeys(groups)) == list(PAIRS["thread_id"])  # 007 != 7, 1e5 != 100000, 23 digits kept
    assert y.tolist() == sum(PAIRS["labels"], [])
    assert X["title"].iloc[0] == "Divorce"  # other columns kept


def test_csv_tsv_jsonl_and_parquet_give_the_same_frame(tmp_path):
    frames = [load_dataset(_write(PAIRS, tmp_path / f"mine{kind}")) for kind in (".csv", ".tsv", ".jsonl",
                                                                                 ".parquet")]
    for X, y, _ in frames[1:]:
        for column in ("post", "reply", "sentence_index", "pair_id", "thread_id", "title"):
            assert X[column].tolist() == frames[0][0][column].tolist(), column
        assert y.tolist() == frames[0][1].tolist()


@pytest.mark.parametrize("chunk_pairs", [1, 2, 4])
def test_chunks_give_the_whole_files_rows_and_ids(pairs_file, chunk_pairs):
    X, y, _ = load_dataset(pairs_file)
    chunks = list(iter_dataset(pairs_file, chunk_pairs=chunk_pairs))
    assert len(chunks) == -(-len(PAIRS) // chunk_pairs)
    joined = pd.concat([c[0] for c in chunks], ignore_index=True)
    for column in ("pair_id", "thread_id", "sentence_index", "post"):
        assert joined[column].tolist() == X[column].tolist()
    assert np.concatenate([c[1] for c in chunks]).tolist() == y.tolist()


def test_chunked_csv_ids_do_not_depend_on_type_guessing(tmp_path):
    """A chunk of only numeric-looking ids is read as text too (pandas would make 007 the int 7); so is metadata."""
    path = tmp_path / "ids.csv"
    pd.DataFrame({"thread_id": ["007", "7", "1e5", "100000"], "post": ["A. B."] * 4,
                  "reply": ["r1", "r2", "r3", "r4"], "zip": ["007", "abc", "0.50", "12"]}).to_csv(path, index=False)
    for chunk_pairs in (1, 2, 4):
        chunks = [X for X, _, _ in iter_dataset(path, chunk_pairs=chunk_pairs)]
        threads = [t for X in chunks for t in dict.fromkeys(X["thread_id"])]
        assert threads == ["007", "7", "1e5", "100000"]
        assert [z for X in chunks for z in dict.fromkeys(X["zip"])] == ["007", "abc", "0.50", "12"]
    derived = [load_dataset(path)[0]["pair_id"].tolist(),
               pd.concat([X for X, _, _ in iter_dataset(path, chunk_pairs=1)])["pair_id"].tolist()]
    assert derived[0] == derived[1]  # content-derived pair ids: the same whatever the chunking


def test_jsonl_numbers_as_ids_keep_their_written_form(tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text('{"pair_id": 1e5, "thread_id": 12345678901234567890123, "post": ["A."], "reply": "r", '
                    '"labels": [1], "score": 2.5}\n'
                    '{"pair_id": 100000, "thread_id": 12345678901234567890124, "post": ["B."], "reply": "r", '
                    '"labels": [0], "score": 3}\n', encoding="utf-8")
    X, y, _ = load_dataset(path)
    assert X["pair_id"].tolist() == ["1e5", "100000"]
    assert X["thread_id"].tolist() == ["12345678901234567890123", "12345678901234567890124"]
    assert X["score"].tolist() == [2.5, 3] and y.tolist() == [1, 0]  # other numbers stay numbers


def test_list_posts_and_the_papers_layout(tmp_path):
    listed = PAIRS.assign(post=[["First.", "Second."]] * len(PAIRS), labels=[[0, 1]] * len(PAIRS))
    for kind in (".jsonl", ".parquet"):  # a real list
        X, y, _ = load_dataset(_write(listed, tmp_path / f"lists{kind}"))
        assert X["post"].iloc[0] == ("First.", "Second.") and len(X) == 2 * len(PAIRS)
    paper = tmp_path / "paper.csv"  # the AcnEmpathize-Cause layout: post_sentences as a list literal
    paper.write_text("thread_id,post_sentences,reply,labels\n"
                     "t1,\"['I hate my skin.', 'It hurts.']\",Hugs,\"[1, 0]\"\n", encoding="utf-8")
    X, y, _ = load_dataset(paper)
    assert X["post"].iloc[0] == ("I hate my skin.", "It hurts.") and y.tolist() == [1, 0]


def test_column_mapping_in_python(tmp_path):
    renamed = PAIRS.rename(columns={"post": "body", "reply": "answer", "pair_id": "id", "thread_id": "conv",
                                    "labels": "causes"})
    path = _write(renamed.assign(labels=renamed["causes"]).drop(columns="labels"), tmp_path / "r.parquet")
    X, y, _ = load_dataset(path, columns={"post": "body", "reply": "answer", "pair_id": "id", "thread_id": "conv",
                                          "labels": "causes"})
    assert list(dict.fromkeys(X["pair_id"])) == list(PAIRS["pair_id"]) and y.tolist() == sum(PAIRS["labels"], [])
    X, y, _ = load_dataset(path, columns={"post": "body", "reply": "answer", "labels": None})
    assert y is None and "causes" in X.columns  # unlabelled on purpose; ids derived, the column kept


@pytest.mark.parametrize("content, columns, match", [
    ("text,reply\nHi.,r\n", None, r"no post column \('post_sentences' or 'post'\).*'text'.*columns=\{'post'"),
    ("post,answer\nHi.,r\n", None, r"no reply column.*--columns reply=COLUMN"),
    ("post,reply\nHi.,r\n", {"post": "body"}, r"no column 'body' \(given for post\); its columns are"),
    ("post,reply\nHi.,r\n", {"sentences": "post"}, r"unknown role\(s\) \['sentences'\]; the roles are"),
    ("post,reply\nHi.,r\n", {"post": "post", "reply": "post"}, "'post' is given for both post and reply"),
    ("post,reply\n\"['Hi.', 'Bye.'\",r\n", None, r"CSV line 2: column 'post' is not a Python list literal"),
    ("post,reply,labels\nHi. Bye.,r,\"[1]\"\n", None, r"CSV line 2.*1 labels for 2 post sentences"),
    ("post,reply,labels\nHi.,r,yes\n", None, r"CSV line 2: column 'labels' is not a Python list literal"),
    ("post,reply\n\"  \u200b \",r\n", None, r"CSV line 2: column 'post' has no text"),
])
def test_each_bad_layout_gets_one_line_naming_the_fix(tmp_path, content, columns, match):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=match) as info:
        load_dataset(path, **({"columns": columns} if columns else {}))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("content, match", [
    ('{"post": "Hi.", "reply": "r"}\nnot json\n', r"line 2: not JSON"),
    ('{"post": "Hi.", "reply": "r"}\n[1, 2]\n', r"line 2: expected a JSON object"),
    ('{"post": "Hi.", "reply": "r", "pair_id": [1]}\n', r"line 1: 'pair_id' must be text or a number"),
    ("\n\n", "the file is empty"),
])
def test_jsonl_mistakes_name_the_line(tmp_path, content, match):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises((ValueError, TypeError), match=match):
        load_dataset(path)


def test_parquet_float_ids_are_refused_and_a_non_parquet_file_named(tmp_path):
    path = tmp_path / "f.parquet"
    pd.DataFrame({"post": ["Hi."], "reply": ["r"], "pair_id": [7.0]}).to_parquet(path)
    with pytest.raises(ValueError, match=r"'pair_id' \(pair_id\) is stored as double; ids are text"):
        load_dataset(path)
    (tmp_path / "g.parquet").write_text("post,reply\n", encoding="utf-8")
    with pytest.raises(ValueError, match="g.parquet: not a readable Parquet file"):
        load_dataset(tmp_path / "g.parquet")


def test_unknown_input_names_every_format_and_options_are_checked(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(ValueError, match="'demo'.*CovidET-EXT.*ECF.*RECCON-DD.*CSV.*TSV.*JSON Lines.*Parquet"):
        load_dataset(tmp_path / "x.xlsx")
    with pytest.raises(FileNotFoundError, match="nowhere not found; the data may be 'demo'"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="cannot tell which format .*empty.*; it may be 'demo'"):
        load_dataset(tmp_path / "empty")
    path = _write(PAIRS, tmp_path / "mine.csv")
    with pytest.raises(ValueError, match=r"is a CSV file \(\.csv\): it takes no option subset \(it takes columns\)"):
        load_dataset(path, subset="valid")
    # A CovidET file passed as a file is CovidET, not RECCON (both are .json).
    assert find_format(tmp_path / "CovidET-EXT_anonymized.json").name == "covidet"
    assert find_format(tmp_path / "val_anonymized-WITH_POSTS.json").name == "covidet"
    assert find_format(tmp_path / "dailydialog_valid.json").name == "reccon"


def test_pairs_to_frame_refuses_read_csv_text_of_lists_with_the_fix(tmp_path):
    """The pandas road: read_csv gives the lists as text; nothing is split as a post."""
    path = tmp_path / "paper.csv"
    path.write_text("""post_sentences,reply,labels\n"['I moved back in.', 'I feel alone.']",Hugs,"[1, 0]"\n""",
                    encoding="utf-8")
    pairs = pd.read_csv(path)
    with pytest.raises(ValueError, match=r"pair 0: the post is the text of a Python list.*read_csv reads lists as "
                                         r"text.*literal_eval.*load_dataset"):
        pairs_to_frame(pairs, post="post_sentences")
    with pytest.raises(TypeError, match=r"pair 0.*labels are the text of a list.*literal_eval"):
        pairs_to_frame(pairs.assign(post_sentences=[["I moved back in.", "I feel alone."]]), post="post_sentences")
    X, y, _ = load_acnempathize_cause(path)  # the loader parses them
    assert X["post"].iloc[0] == ("I moved back in.", "I feel alone.") and y.tolist() == [1, 0]


# ------------------------------------------------------------------ predictions


@pytest.fixture(scope="module")
def model(tiny_bert, tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats") / "model"
    assert main(["train", "--data", "demo", "--model", str(folder), "--encoder", tiny_bert, "--max-epochs", "1",
                 "--param", "hidden_size=16", "--param", "precision=fp32", "--quiet"]) == 0
    return folder


def test_the_same_data_in_every_format_gives_the_same_predictions(model, tmp_path, capsys):
    tables = {}
    for kind in (".csv", ".jsonl", ".parquet"):
        data = _write(PAIRS, tmp_path / f"mine{kind}")
        out = tmp_path / f"preds{kind}.csv"
        assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(out), "--quiet"]) == 0
        tables[kind] = pd.read_csv(out, dtype={"pair_id": str, "thread_id": str})
    first = tables[".csv"]
    assert list(first.columns) == ["pair_id", "thread_id", "sentence_index", "sentence", "probability",
                                   "prediction"]
    for table in tables.values():
        for column in ("pair_id", "thread_id", "sentence_index", "sentence", "prediction"):
            assert table[column].tolist() == first[column].tolist()
        np.testing.assert_allclose(table["probability"], first["probability"], atol=1e-6)


def test_predictions_merge_back_on_the_users_pair_id_row_for_row(model, tmp_path):
    data = _write(PAIRS, tmp_path / "mine.csv")
    out, view = tmp_path / "preds.csv", tmp_path / "view.html"
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(out), "--html", str(view),
                 "--keep-columns", "title", "--quiet"]) == 0
    preds = pd.read_csv(out, dtype={"pair_id": str, "thread_id": str})
    mine = pd.read_csv(data, dtype={"pair_id": str, "thread_id": str})
    merged = preds.merge(mine.drop(columns="title"), on=["pair_id", "thread_id"], how="left",
                         validate="many_to_one", indicator=True)
    assert len(merged) == len(preds) == sum(map(len, PAIRS["labels"]))
    assert (merged["_merge"] == "both").all()
    assert preds["title"].tolist() == merged["title"].tolist()  # kept column, row for row
    assert preds.groupby("pair_id", sort=False).size().tolist() == list(map(len, PAIRS["labels"]))
    page = view.read_text(encoding="utf-8")
    assert all(pair_id in page for pair_id in PAIRS["pair_id"])  # the HTML names posts by the user's id
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(tmp_path / "all.csv"),
                 "--keep-columns", "all", "--quiet"]) == 0
    assert "title" in pd.read_csv(tmp_path / "all.csv").columns


def test_cli_columns_and_the_mistakes_before_the_model_loads(model, tmp_path, capsys):
    renamed = PAIRS.rename(columns={"post": "body", "reply": "answer", "pair_id": "id"})
    data = _write(renamed, tmp_path / "r.jsonl")
    out = tmp_path / "r.csv"
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(out), "--quiet",
                 "--columns", "post=body,reply=answer,pair_id=id"]) == 0
    assert list(dict.fromkeys(pd.read_csv(out, dtype=str)["pair_id"])) == list(PAIRS["pair_id"])
    capsys.readouterr()
    assert main(["evaluate", "--data", str(data), "--model", str(model),
                 "--columns", "post=body,reply=answer,pair_id=id", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["every_sentence_a_cause_f1"] == pytest.approx(2 * 13 / 18 / (1 + 13 / 18))
    assert main(["predict", "--data", str(data), "--model", str(model)]) == 2
    assert "no post column ('post_sentences' or 'post')" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(data), "--model", str(model),
                 "--columns", "post=body,reply=answer,labels="]) == 2
    assert "has no labels" in capsys.readouterr().err
    assert main(["predict", "--data", str(data), "--model", str(model), "--subset", "valid",
                 "--columns", "post=body,reply=answer"]) == 2
    assert "takes no option subset" in capsys.readouterr().err
    assert main(["predict", "--data", str(data), "--model", str(model), "--columns", "post=body,reply=answer",
                 "--keep-columns", "nope"]) == 2
    assert "keep_columns: no column(s) ['nope']" in capsys.readouterr().err


def test_train_on_a_users_csv_prints_the_baseline_beside_f1(tiny_bert, tmp_path, capsys):
    data = _write(PAIRS, tmp_path / "mine.csv")
    assert main(["train", "--data", str(data), "--model", str(tmp_path / "m"), "--encoder", tiny_bert,
                 "--max-epochs", "1", "--param", "hidden_size=16", "--param", "validation_fraction=null",
                 "--param", "threshold=0.5", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert " f1 " in printed and "every_sentence_a_cause_f1 0.8387" in printed  # 13 causes of 18: 26/31


def test_a_model_folder_loads_by_the_class_it_records(model, tiny_bert, tmp_path, demo):
    from empathy_cause import EmpathyCauseClassifier
    from empathy_cause.baselines import QAClassifier
    from empathy_cause.network.model_files import ModelFileError
    from empathy_cause.prediction import load_model_folder

    assert type(load_model_folder(model)) is EmpathyCauseClassifier
    X, y, groups = demo
    keep = np.isin(groups, np.unique(groups)[:3])
    qa = QAClassifier(tiny_bert, max_epochs=1, random_state=0, precision="fp32").fit(X[keep], y[keep])
    qa.save(tmp_path / "qa")
    assert type(load_model_folder(tmp_path / "qa")) is QAClassifier
    config = json.loads((tmp_path / "qa" / "config.json").read_text())
    config["class"] = "os.system"
    (tmp_path / "qa" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"the model is a 'os.system'; this version loads"):
        load_model_folder(tmp_path / "qa")


def test_predict_needs_no_labels_and_a_pattern_is_refused_with_the_fix(model, tmp_path, capsys):
    partly = PAIRS.assign(labels=[json.dumps(v) if i % 2 else "" for i, v in enumerate(PAIRS["labels"])])
    data = tmp_path / "partly.csv"
    partly.to_csv(data, index=False)
    out = tmp_path / "p.csv"
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(out), "--quiet"]) == 0
    assert len(pd.read_csv(out)) == sum(map(len, PAIRS["labels"]))
    assert main(["evaluate", "--data", str(data), "--model", str(model)]) == 2  # evaluate does need them
    assert "CSV line 2: column 'labels' is empty" in capsys.readouterr().err
    (tmp_path / "many").mkdir()
    for name in ("a.csv", "b.csv"):
        _write(PAIRS, tmp_path / "many" / name)
    assert main(["predict", "--data", str(tmp_path / "many" / "*.csv"), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "is a pattern (2 files match)" in err and "predict --scheduler ADDRESS" in err


def test_a_file_of_the_sentence_row_frame_itself_reads_back_as_rows(tmp_path):
    """X.to_parquet / X.to_json(lines=True) hold one record per sentence (a sentence_index column), not per pair."""
    X, y, _ = load_dataset(_write(PAIRS, tmp_path / "mine.csv"))
    rows = X.assign(labels=y)
    rows.to_parquet(tmp_path / "rows.parquet")
    rows.assign(post=rows["post"].map(list)).to_json(tmp_path / "rows.jsonl", orient="records", lines=True)
    for name in ("rows.parquet", "rows.jsonl"):
        back, y_back, _ = load_dataset(tmp_path / name)
        assert len(back) == len(X) and y_back.tolist() == y.tolist()
        for column in ("post", "reply", "sentence_index", "pair_id", "thread_id", "title"):
            assert back[column].tolist() == X[column].tolist(), (name, column)
