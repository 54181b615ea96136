"""Endpoints fail in one line, in bounded time: schedulers that never reply or speak another protocol, storage URLs.

Every server here is a socket on 127.0.0.1 that the test opens itself; nothing contacts any other address.
"""

import contextlib
import importlib.util
import json
import socket
import threading

import pytest

from empathy_cause.cli.command import main

pytest.importorskip("distributed")


@contextlib.contextmanager
def _server(reply: bytes | None):
    """A TCP server on 127.0.0.1 that accepts every connection and sends ``reply`` (None: never a byte)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                accepted.append(connection)
                if reply is not None:
                    connection.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def _run_in_thread(function, limit=120):
    """``function()``'s result, run in a thread; a hang past ``limit`` seconds fails the test (no timing asserted)."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()), daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), "still waiting on the server"
    return result["value"]


@pytest.fixture
def short_timeout(monkeypatch):
    import empathy_cause.prediction.distributed as dist

    monkeypatch.setattr(dist, "CONNECT_TIMEOUT", 1.0)


@pytest.mark.parametrize("reply, message", [
    (None, "sent no Dask handshake within 1 s"),
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "not with the Dask protocol"),
    (b"\x00" * 8, "not with the Dask protocol"),
])
def test_predict_on_a_scheduler_that_is_not_one_is_one_line(reply, message, tmp_path, capsys, short_timeout):
    model = tmp_path / "no-model"   # the scheduler is checked first: no model is needed to see the error
    with _server(reply) as address:
        status = _run_in_thread(lambda: main(["predict", "--model", str(model), "--data", "demo", "--quiet",
                                              "--scheduler", address, "--out", str(tmp_path / "scores")]))
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err, err
    assert message in err and address in err
    assert not (tmp_path / "scores").exists()


def test_connect_refuses_silent_and_foreign_servers_in_bounded_time(short_timeout):
    import struct

    from empathy_cause.prediction.distributed import connect

    plausible_length_then_garbage = struct.pack("<Q", 16) + struct.pack("<Q", 2**60) + b"x" * 8
    not_msgpack = struct.pack("<Q", 24) + struct.pack("<Q", 1) + struct.pack("<Q", 8) + b"\xc1" * 8
    half_a_handshake = struct.pack("<Q", 100)
    for reply in (None, b"SSH-2.0-OpenSSH_9.6\r\n" * 3, plausible_length_then_garbage, not_msgpack,
                  half_a_handshake):
        with _server(reply) as address:
            error = _run_in_thread(lambda: _raised(lambda: connect(address)))
        assert isinstance(error, OSError) and address in str(error)
    closed = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    assert "cannot reach a Dask scheduler" in str(_raised(lambda: connect(address)))
    assert "not a Dask scheduler address" in str(_raised(lambda: connect("tcp://127.0.0.1:notaport")))


def test_connect_to_a_scheduler_without_workers_is_one_line(short_timeout):
    import distributed

    from empathy_cause.prediction.distributed import connect

    with distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as cluster:
        error = _run_in_thread(lambda: _raised(lambda: connect(cluster.scheduler_address)))
        assert isinstance(error, TimeoutError) and "has no worker" in str(error)
        cluster.scale(1)
        with connect(cluster.scheduler_address, timeout=60) as client:   # a real scheduler with a worker
            assert client.submit(sum, [1, 2]).result() == 3


def _raised(function):
    try:
        function()
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc
    raise AssertionError("no error raised")


# ------------------------------------------------------------------ search storage and studies

@pytest.mark.parametrize("url, message", [
    ("notaurl", "'notaurl' is not a database URL"),
    ("postgres//me:hunter2@host/db", "is not a database URL"),
    ("foo://host/db", "SQLAlchemy knows no database 'foo'"),
    ("mysql+pymysql://me:hunter2@127.0.0.1/db", "needs the database driver 'pymysql', which is not installed: "
                                                "pip install pymysql"),
])
def test_search_storage_url_is_one_line_naming_the_fix(url, message, tmp_path, capsys):
    pytest.importorskip("optuna")
    if "pymysql" in url and importlib.util.find_spec("pymysql"):
        pytest.skip("pymysql is installed here: its missing-driver message cannot be seen")
    status = main(["search", "--storage", url, "--out", str(tmp_path / "out"), "--n-trials", "1", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err, err
    assert message in err and "hunter2" not in err


@pytest.mark.parametrize("option", [["--folds", "1"], ["--sample", "-5"], ["--n-trials", "0"]])
def test_search_counts_below_their_minimum_are_refused_at_once(option, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["search", "--out", str(tmp_path / "out"), *option])
    assert stopped.value.code == 2
    assert f"argument {option[0]}: must be at least" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def _study_with_settings(url, argv):
    """A SQLite study that recorded the fixed settings of ``search`` run with ``argv``; and a checker."""
    pytest.importorskip("optuna")
    from empathy_cause.benchmarks.search import (
        _study_settings,
        build_parser,
        check_study_settings,
        create_study,
        make_storage,
    )

    args = build_parser().parse_args(["--storage", url, *argv])
    study = create_study(make_storage(url), args.study_name)
    check_study_settings(study, _study_settings(args))
    return lambda: check_study_settings(study, _study_settings(args))


def test_a_second_search_with_other_fixed_settings_is_refused_naming_them(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    check_again = _study_with_settings(url, ["--param", "loss=ce", "--folds", "3"])
    check_again()                                                 # the same settings join it
    capsys.readouterr()                                           # Optuna's own note on creating the study
    status = main(["search", "--storage", url, "--out", str(tmp_path / "out"), "--n-trials", "1", "--quiet",
                   "--param", "loss=focal", "--folds", "4"])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err, err
    assert "holds trials of other fixed settings" in err
    assert "folds: 3 in the study, 4 now" in err and "--param loss: 'ce' in the study, 'focal' now" in err
    assert "--study-name" in err


@pytest.mark.parametrize("reply", [None, b"HTTP/1.1 400 Bad Request\r\n\r\n"])
def test_search_storage_on_a_silent_or_foreign_server_is_one_line(reply, tmp_path, capsys, monkeypatch):
    pytest.importorskip("optuna")
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver psycopg2 is not installed (test extra)")
    import empathy_cause.benchmarks.search as search

    monkeypatch.setattr(search, "STORAGE_CONNECT_TIMEOUT", 2)   # libpq's smallest
    with _server(reply) as address:
        url = f"postgresql+psycopg2://me:hunter2@{address.removeprefix('tcp://')}/optuna"
        status = _run_in_thread(lambda: main(["search", "--storage", url, "--out", str(tmp_path / "out"),
                                              "--n-trials", "1", "--quiet"]))
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err, err
    assert "cannot connect to the study database" in err and "hunter2" not in err


def test_a_study_knows_its_encoder_by_content(tiny_bert, tmp_path):
    import shutil

    from tests.tiny_models import make_tiny_bert

    encoder = shutil.copytree(tiny_bert, tmp_path / "enc")
    check_again = _study_with_settings(f"sqlite:///{tmp_path / 'study.db'}", ["--encoder", str(encoder)])
    make_tiny_bert(encoder, seed=1)                                # new weights, same path
    with pytest.raises(ValueError, match="other fixed settings \\(encoder: "):
        check_again()


def test_search_refuses_fixed_settings_that_would_fail_every_trial(tiny_bert, tmp_path, capsys):
    pytest.importorskip("optuna")
    out = tmp_path / "out"
    for extra, message in ((["--param", "batch_size=0"], "'batch_size' parameter"),
                           (["--param", "max_length=4096"], "takes at most 128 tokens"),
                           (["--sample", "3", "--folds", "5"], "--folds 5 needs at least 5 threads")):
        status = main(["search", "--data", "demo", "--encoder", tiny_bert, "--out", str(out), "--n-trials", "1",
                       "--quiet", *extra])
        err = capsys.readouterr().err.strip()
        assert status == 2 and message in err and "\n" not in err, err
    assert not (out / "best.json").exists()


def test_search_whose_every_trial_fails_exits_non_zero_with_strict_json(tiny_bert, tmp_path, capsys, monkeypatch):
    pytest.importorskip("optuna")
    from empathy_cause.model_selection.tuning import SearchableClassifier

    def broken_fit(self, X, y=None, **fit_params):
        raise ValueError("this fit always fails")

    monkeypatch.setattr(SearchableClassifier, "fit", broken_fit)
    out = tmp_path / "out"
    status = main(["search", "--data", "demo", "--encoder", tiny_bert, "--out", str(out), "--n-trials", "2",
                   "--folds", "2", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 2 and "every trial of study 'empathy-cause' failed (2;" in err
    report = json.loads((out / "best.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in best.json"))
    assert [t["value"] for t in report["trials"]] == [None, None]
