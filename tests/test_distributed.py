"""Scoring and search on a real Dask cluster: a LocalCluster of 2 worker processes, 1 thread each.

Needs the ``distributed`` extra; without it these tests skip, except under
CI=true (``.ci/run`` installs the extra), where they fail.
"""

import json
import os
import signal
import sys
import time

import numpy as np
import pandas as pd
import pytest

try:
    import dask
    import dask.dataframe as dd
    import distributed
except ImportError as exc:  # pragma: no cover - depends on the environment
    if os.environ.get("CI", "").lower() == "true":
        raise ImportError(f"CI=true but the distributed extra is not installed ({exc})") from exc
    pytest.skip(f"the distributed extra is not installed ({exc})", allow_module_level=True)

from empathy_cause import EmpathyCauseClassifier, ThreadKFold
from empathy_cause.prediction.distributed import (
    joblib_backend,
    predict_proba_dask,
    predict_table_dask,
    read_dask_frame,
    to_dask_frame,
)

# A LocalCluster of worker processes: about a minute for the file.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster, distributed.Client(cluster) as client:
        yield client


def _params(tiny_bert, **extra):
    return {"encoder": tiny_bert, "max_epochs": 2, "validation_fraction": None, "lr": 1e-3, "random_state": 0,
            **extra}


@pytest.fixture(scope="module")
def fitted(tiny_bert, demo):
    X, y, _ = demo
    return EmpathyCauseClassifier(**_params(tiny_bert)).fit(X, y)


@pytest.fixture(scope="module")
def reference(fitted, demo):
    return fitted.predict_proba(demo[0])


def test_scores_equal_single_process_row_by_row(client, fitted, reference, demo, tmp_path):
    X = demo[0]
    ddf = to_dask_frame(X, chunk_pairs=7)
    assert ddf.npartitions > 2
    proba = predict_proba_dask(fitted, ddf, client=client).compute()
    assert proba.shape == (len(X), 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba, reference, rtol=0, atol=1e-6)
    # The model folder form: each worker loads it from the path.
    folder = fitted.save(tmp_path / "model")
    np.testing.assert_allclose(predict_proba_dask(str(folder), ddf, client=client).compute(), reference,
                               rtol=0, atol=1e-6)


def test_order_and_index_kept(client, fitted, reference, demo):
    X = demo[0]
    order = np.random.default_rng(0).permutation(len(X))
    shuffled = X.iloc[order].set_axis(pd.Index(1000 + order * 3, name="row"))
    ddf = to_dask_frame(shuffled, chunk_pairs=5)
    np.testing.assert_allclose(predict_proba_dask(fitted, ddf, client=client).compute(), reference[order],
                               rtol=0, atol=1e-6)
    table = predict_table_dask(fitted, ddf, client=client).compute()
    assert table.index.equals(shuffled.index)
    np.testing.assert_allclose(table["probability"], reference[order, 1], rtol=0, atol=1e-6)
    assert list(table["sentence"]) == [p[i] for p, i in zip(shuffled["post"], shuffled["sentence_index"])]
    assert (table["prediction"] == (table["probability"] >= fitted.decision_threshold())).all()


def test_partitions_that_split_pairs_are_still_right(client, fitted, reference, demo):
    X = demo[0]
    # The documented recipe for dd.from_pandas: keep object columns as they are.
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(X, npartitions=5, sort=False)
        sizes = ddf.map_partitions(len).compute()
    bounds = np.cumsum(sizes)[:-1]
    pair = X["pair_id"].to_numpy()
    assert any(pair[b - 1] == pair[b] for b in bounds), "no partition boundary falls inside a pair"
    np.testing.assert_allclose(predict_proba_dask(fitted, ddf, client=client).compute(), reference,
                               rtol=0, atol=1e-6)


def test_arrow_strings_refused_parquet_read(client, fitted, reference, demo, tmp_path):
    X = demo[0]
    with pytest.raises(TypeError, match="to_dask_frame"):
        predict_proba_dask(fitted, dd.from_pandas(X, npartitions=2), client=client)  # posts became str
    # Parquet keeps the post as a list column: what dd.read_parquet gives is accepted.
    half = X["pair_id"].ne(X["pair_id"].shift()).cumsum().to_numpy() <= 15
    X[half].to_parquet(tmp_path / "a.parquet")
    X[~half].to_parquet(tmp_path / "b.parquet")
    ddf = read_dask_frame(str(tmp_path / "*.parquet"))
    assert ddf.npartitions == 2
    np.testing.assert_allclose(predict_proba_dask(fitted, ddf, client=client).compute(), reference,
                               rtol=0, atol=1e-6)


class SlowModel:
    """A fitted model whose predict_proba takes a while, so that a worker dies with tasks in flight."""

    def __init__(self, model, seconds):
        self.model, self.seconds = model, seconds

    def predict_proba(self, X):
        time.sleep(self.seconds)
        return self.model.predict_proba(X)


def test_a_worker_killed_mid_job_loses_and_duplicates_no_rows(client, fitted, reference, demo):
    X = demo[0]
    ddf = to_dask_frame(X, chunk_pairs=2)
    future = client.compute(predict_proba_dask(SlowModel(fitted, 0.2), ddf, client=client))
    deadline = time.monotonic() + 60
    while not client.processing() or not any(client.processing().values()):
        assert time.monotonic() < deadline, "no task started"
        time.sleep(0.05)
    time.sleep(0.5)
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    assert not future.done(), "the job ended before a worker could be killed"
    os.kill(pids[victim], signal.SIGKILL)
    proba = future.result(timeout=120)
    assert proba.shape == reference.shape  # no row lost or duplicated ...
    np.testing.assert_allclose(proba, reference, rtol=0, atol=1e-6)  # ... and each in its place
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != set(pids.values())  # the worker did die and come back


def test_predict_cli_writes_part_files_in_input_order(client, fitted, tmp_path, capsys):
    from empathy_cause.cli.command import main

    folder = fitted.save(tmp_path / "model")
    single = tmp_path / "single.csv"
    assert main(["predict", "--data", "demo", "--model", str(folder), "--out", str(single)]) == 0
    out = tmp_path / "parts"
    assert main(["predict", "--data", "demo", "--model", str(folder), "--chunk-pairs", "9",
                 "--scheduler", client.scheduler.address, "--out", str(out)]) == 0
    parts = sorted(out.glob("part-*.csv"))
    assert len(parts) > 1 and [p.name for p in parts][0] == "part-00000.csv"
    expected = pd.read_csv(single)
    got = pd.concat([pd.read_csv(p) for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(got.drop(columns="probability"), expected.drop(columns="probability"))
    np.testing.assert_allclose(got["probability"], expected["probability"], rtol=0, atol=1e-6)
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    # An existing folder is refused before any work, in one line.
    assert main(["predict", "--data", "demo", "--model", str(folder), "--scheduler",
                 client.scheduler.address, "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err


def test_predict_cli_workers_read_csv_files_from_a_glob(client, fitted, demo, tmp_path):
    from empathy_cause.benchmarks.scaling import write_recombined_csv
    from empathy_cause.cli.command import main

    folder = fitted.save(tmp_path / "model")
    inputs = [tmp_path / f"in-{i}.csv" for i in range(2)]
    for i, path in enumerate(inputs):
        write_recombined_csv(path, 40, demo[0], seed=i)
    expected = []
    for path in inputs:
        assert main(["predict", "--data", str(path), "--model", str(folder), "--out", str(path) + ".out"]) == 0
        expected.append(pd.read_csv(str(path) + ".out"))
    out = tmp_path / "parts"
    assert main(["predict", "--data", str(tmp_path / "in-*.csv"), "--model", str(folder),
                 "--scheduler", client.scheduler.address, "--out", str(out)]) == 0
    parts = sorted(out.glob("part-*.csv"))
    assert len(parts) == 2  # one partition per file, read by the workers
    for part, want in zip(parts, expected):
        got = pd.read_csv(part)
        pd.testing.assert_frame_equal(got.drop(columns="probability"), want.drop(columns="probability"))
        np.testing.assert_allclose(got["probability"], want["probability"], rtol=0, atol=1e-6)


def test_workers_read_your_own_files_and_keep_your_ids(client, fitted, tmp_path):
    """A JSON Lines and a Parquet file of raw-text posts with the user's ids and column names: the workers
    read them through the format registry and write the single-process rows, ids and kept column included."""
    from empathy_cause.cli.command import main

    folder = fitted.save(tmp_path / "model")
    pairs = pd.DataFrame({"id": ["007", "7", "1e5"], "conv": ["t-007", "t7", "t1e5"],
                          "body": ["I feel alone. Nobody calls.", "My skin hurts. I use a wash.", "I lost my job."],
                          "answer": ["You are not alone.", "Hang in there.", "So sorry."], "title": ["a", "b", "c"]})
    (tmp_path / "in-0.jsonl").write_text(pairs.iloc[:2].to_json(orient="records", lines=True), encoding="utf-8")
    pairs.iloc[2:].to_parquet(tmp_path / "in-1.parquet")
    options = ["--columns", "post=body,reply=answer,pair_id=id,thread_id=conv", "--keep-columns", "title"]
    expected = []
    for name in ("in-0.jsonl", "in-1.parquet"):
        out = tmp_path / f"single-{name}.csv"
        assert main(["predict", "--data", str(tmp_path / name), "--model", str(folder), "--out", str(out),
                     *options]) == 0
        expected.append(pd.read_csv(out, dtype=str))
    out = tmp_path / "parts"
    assert main(["predict", "--data", str(tmp_path / "in-*"), "--model", str(folder), "--scheduler",
                 client.scheduler.address, "--out", str(out), *options]) == 0
    got = [pd.read_csv(p, dtype=str) for p in sorted(out.glob("part-*.csv"))]
    assert len(got) == 2
    for part, want in zip(got, expected):
        assert list(part.columns) == list(want.columns) == ["pair_id", "thread_id", "sentence_index", "sentence",
                                                             "probability", "prediction", "title"]
        pd.testing.assert_frame_equal(part.drop(columns="probability"), want.drop(columns="probability"))
        np.testing.assert_allclose(part["probability"].astype(float), want["probability"].astype(float), atol=1e-6)
    assert pd.concat(got)["pair_id"].unique().tolist() == ["007", "7", "1e5"]


# ------------------------------------------------------------------ search on the cluster


def test_search_on_the_cluster_matches_n_jobs_1(client, tiny_bert, demo):
    from sklearn.model_selection import GridSearchCV, TunedThresholdClassifierCV, cross_validate

    X, y, _ = demo
    clf = EmpathyCauseClassifier(**_params(tiny_bert, max_epochs=1))
    cv = ThreadKFold(2)

    def run(n_jobs):
        grid = GridSearchCV(clf, {"lr": [1e-3, 3e-2]}, cv=cv, scoring="roc_auc", n_jobs=n_jobs).fit(X, y)
        scores = cross_validate(clf, X, y, cv=cv, scoring="roc_auc", n_jobs=n_jobs)
        tuned = TunedThresholdClassifierCV(clf, cv=cv, scoring="f1", n_jobs=n_jobs).fit(X, y)
        return grid, scores, tuned

    local = run(1)
    with joblib_backend(client=client), distributed.get_task_stream(client) as stream:
        remote = run(-1)
    # The fits did run on the workers (joblib's batches of sklearn's _fit_and_score).
    assert sum("fit_and_score" in task["key"] for task in stream.data) >= 4
    assert remote[0].best_params_ == local[0].best_params_
    np.testing.assert_allclose(remote[0].cv_results_["mean_test_score"], local[0].cv_results_["mean_test_score"],
                               atol=1e-6)
    np.testing.assert_allclose(remote[1]["test_score"], local[1]["test_score"], atol=1e-6)
    assert remote[2].best_threshold_ == pytest.approx(local[2].best_threshold_, abs=1e-6)


def test_ablation_protocol_on_the_cluster_matches_n_jobs_1(client, tiny_bert, demo):
    from empathy_cause.benchmarks.ablation import CONFIGS
    from empathy_cause.benchmarks.common import run_protocol

    X, y, _ = demo
    configs = [CONFIGS["weights_1_3"], CONFIGS["random"]]  # a neural fit and a dummy built by a lambda
    params = {"encoder": tiny_bert, "max_epochs": 2, "lr": 1e-3}
    local = run_protocol(configs, X, y, runs=1, seed=3, estimator_params=params, log=False)
    with joblib_backend(client=client):
        remote = run_protocol(configs, X, y, runs=1, seed=3, estimator_params=params, log=False, n_jobs=-1)
    assert [(r["config"], r["seed"], r["epochs"]) for r in remote] == [(r["config"], r["seed"], r["epochs"])
                                                                       for r in local]
    for a, b in zip(local, remote):
        np.testing.assert_allclose(b["_predictions"][1], a["_predictions"][1], rtol=0, atol=1e-6)
        assert b["metrics"] == pytest.approx(a["metrics"], abs=1e-6, nan_ok=True)


def test_speed_benchmark_dask_section(client, tiny_bert, tmp_path):
    from empathy_cause.benchmarks.speed import main

    out = tmp_path / "speed.json"
    assert main(["--data", "demo", "--encoder", tiny_bert, "--param", "max_epochs=1", "--param", "hidden_size=16",
                 "--repeats", "1", "--skip-fit", "--sizes", "", "--dask-rows", "150", "--dask-files", "3",
                 "--dask-scheduler", client.scheduler.address, "--out", str(out)]) == 0
    report = json.loads(out.read_text())["dask"]
    assert report["rows"] >= 150 and report["files"] == 3 and report["max_abs_difference"] < 1e-5
    workers = report["cluster"]["workers"]
    assert len(workers) == 2 and all(w["peak_rss_mib"] > 0 for w in workers)
    # Whole dialogues per file: the workers together encode each distinct sentence about once.
    assert 0 < sum(w["sentences_encoded"] for w in workers) <= report["distinct_sentences"] * 1.05
    assert report["cluster"]["ship_seconds"] > 0 and report["cluster"]["model_pickle_mib"] > 0


def test_without_the_extra_one_line_names_the_install(monkeypatch, demo, capsys):
    from empathy_cause.cli.command import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r'pip install "empathy_cause\[distributed\]"'):
        to_dask_frame(demo[0])
    assert main(["predict", "--data", "demo", "--model", "m", "--scheduler", "tcp://127.0.0.1:1",
                 "--out", "parts"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "empathy_cause[distributed]"' in err
