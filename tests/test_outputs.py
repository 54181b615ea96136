"""What the command writes: never over an input, complete or absent (also under signals), unlabelled input."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from empathy_cause import EmpathyCauseClassifier, frame_to_pairs, load_demo
from empathy_cause.cli.command import main
from empathy_cause.cli.outputs import atomic_output, guard_csv_cell, partial_name


@pytest.fixture(scope="module")
def model(tiny_bert, tmp_path_factory):
    X, y, _ = load_demo()
    folder = tmp_path_factory.mktemp("outputs") / "model"
    EmpathyCauseClassifier(tiny_bert, hidden_size=16, max_epochs=1, validation_fraction=None, threshold=0.5,
                           random_state=0).fit(X.iloc[:40], y[:40]).save(folder)
    return folder


def _csv(path, n_copies=1, labels=True, first_sentence=None):
    """The demo set as an AcnEmpathize-Cause CSV, its pairs repeated ``n_copies`` times (own threads)."""
    X, y, _ = load_demo()
    pairs = frame_to_pairs(X, y)
    table = pd.concat([pairs.assign(thread_id=pairs["thread_id"] + f"-{k}") for k in range(n_copies)],
                      ignore_index=True)
    posts = [list(p) for p in table["post"]]
    if first_sentence is not None:
        posts[0][0] = first_sentence
    out = pd.DataFrame({"thread_id": table["thread_id"], "post_sentences": [repr(p) for p in posts],
                        "reply": table["reply"]})
    if labels:
        out["labels"] = [repr(list(v)) for v in table["labels"]]
    out.to_csv(path, index=False)
    return path


def _one_line_error(capsys, status, *fragments):
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err
    return err


# ------------------------------------------------------------ outputs vs inputs


@pytest.mark.parametrize("option", ["--out", "--html"])
def test_an_output_that_is_the_input_is_refused_before_anything_runs(model, tmp_path, capsys, option):
    data = _csv(tmp_path / "in.csv")
    before = data.read_bytes()
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    hard = tmp_path / "hard.csv"
    os.link(data, hard)
    for target in (data, link, hard):
        status = main(["predict", "--data", str(data), "--model", str(model), option, str(target)])
        _one_line_error(capsys, status, f"{option} {target} is the input --data")
        assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.csv", "in.csv", "link.csv"]


def test_outputs_inside_the_model_folder_or_onto_a_folder_or_twice_are_refused(model, tmp_path, capsys):
    data = _csv(tmp_path / "in.csv")
    config = (model / "config.json").read_bytes()
    for args, fragment in [(["--out", str(model / "config.json")], "is inside the model folder --model"),
                           (["--html", str(model / "view.html")], "is inside the model folder --model"),
                           (["--out", str(model)], "is the input --model"),
                           (["--out", str(tmp_path)], "is a folder"),
                           (["--out", str(tmp_path / "a"), "--html", str(tmp_path / "a")], "are the same file")]:
        status = main(["predict", "--data", str(data), "--model", str(model), *args])
        _one_line_error(capsys, status, fragment)
    assert (model / "config.json").read_bytes() == config
    assert sorted(p.name for p in model.iterdir()) == ["config.json", "model.safetensors"]
    status = main(["train", "--data", str(data), "--model", str(data), "--max-epochs", "1"])
    _one_line_error(capsys, status, f"--model {data} is the input --data")


# ------------------------------------------------------------ complete or absent


def test_atomic_output_renames_only_when_complete_or_keeps_a_partial_name(tmp_path):
    target = tmp_path / "preds.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old\n" and sorted(tmp_path.iterdir()) == [target]
    with pytest.raises(KeyboardInterrupt), atomic_output(target, keep_partial=True) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old\n" and partial_name(target).read_text() == "half"
    assert partial_name(target).name == "preds.partial.csv"
    # Through a symlink: the file it points to is replaced, the link stays.
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    with atomic_output(link) as tmp:
        tmp.write_text("new\n")
    assert link.is_symlink() and target.read_text() == "new\n"


def test_a_failing_predict_leaves_nothing_at_out(model, tmp_path, capsys):
    data = _csv(tmp_path / "in.csv", n_copies=3)
    lines = data.read_text().splitlines(keepends=True)
    lines[-1] = lines[-1].replace("[", "[[", 1)  # a bad record in the last chunk
    data.write_text("".join(lines))
    out = tmp_path / "preds.csv"
    out.write_text("the previous run's predictions\n")
    status = main(["predict", "--data", str(data), "--model", str(model), "--out", str(out), "--chunk-pairs", "5"])
    _one_line_error(capsys, status, "CSV line")
    assert out.read_text() == "the previous run's predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "preds.csv"]
    status = main(["predict", "--data", str(data), "--model", str(model), "--out", str(out), "--chunk-pairs", "5",
                   "--keep-partial"])
    _one_line_error(capsys, status, "CSV line")
    partial = pd.read_csv(tmp_path / "preds.partial.csv")
    assert 0 < len(partial) and partial["probability"].notna().all()


def test_analyze_and_demo_write_their_files_whole_or_not_at_all(monkeypatch, tmp_path, capsys):
    import empathy_cause.analysis as analysis

    def half_report(X, y, out_dir, **kwargs):
        (out_dir / "figure.png").write_bytes(b"png")
        raise OSError("No space left on device")

    monkeypatch.setattr(analysis, "write_report", half_report)
    out = tmp_path / "report"
    status = main(["analyze", "--data", "demo", "--out", str(out)])
    _one_line_error(capsys, status, "No space left on device")
    assert list(tmp_path.iterdir()) == []  # no folder, no temporary left


def _start(args, **kwargs):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "empathy_cause.cli.command", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def _wait_for(condition, process, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("keep_partial", [False, True])
def test_a_signal_during_a_streaming_predict_leaves_no_output(model, tmp_path, signum, status, keep_partial):
    """A real CLI process, stopped once its first chunk is written: nothing at --out (or a .partial file)."""
    data = _csv(tmp_path / "in.csv", n_copies=200)
    out = tmp_path / "preds.csv"
    process = _start(["predict", "--data", str(data), "--model", str(model), "--out", str(out),
                      "--chunk-pairs", "1"] + ["--keep-partial"] * keep_partial)

    def written():
        return any(p.name.startswith(".preds.tmp-") and p.stat().st_size > 0 for p in tmp_path.iterdir())

    _wait_for(written, process)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    assert "Traceback" not in err and "interrupted" in err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == (["in.csv", "preds.partial.csv"] if keep_partial else ["in.csv"])
    if keep_partial:
        text = (tmp_path / "preds.partial.csv").read_text()
        assert text.endswith("\n") and text.count("\n") > 1  # whole rows only
        assert pd.read_csv(tmp_path / "preds.partial.csv")["prediction"].isin([0, 1]).all()


# ------------------------------------------------------------ unlabelled input, CSV injection


def test_predict_reads_an_unlabelled_csv_and_evaluate_says_it_needs_labels(model, tmp_path, capsys):
    data = _csv(tmp_path / "posts.csv", labels=False)
    out = tmp_path / "preds.csv"
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(out),
                 "--html", str(tmp_path / "view.html")]) == 0
    X, _, _ = load_demo()
    assert len(pd.read_csv(out)) == len(X)
    capsys.readouterr()
    status = main(["evaluate", "--data", str(data), "--model", str(model)])
    _one_line_error(capsys, status, "--columns labels=COLUMN): evaluate needs the true labels")
    status = main(["train", "--data", str(data), "--model", str(tmp_path / "m")])
    _one_line_error(capsys, status, "train needs the true labels")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("cell", [" =HYPERLINK(\"http://evil\")", "\uff1dSUM(1)", "\u00a0=1+1", "\n=1+1",
                                  "\u200b@SUM(A1)", "\u3000+1", "\ufeff-1", " \uff20x"])
def test_formula_guard_looks_past_leading_blanks_and_at_fullwidth_forms(cell):
    assert guard_csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["a=b", " plain", "\u00a0text", "x\n=1"])
def test_formula_guard_leaves_text_that_starts_with_text(cell):
    assert guard_csv_cell(cell) == cell


def test_predict_csv_guards_formulas_unless_raw_text(model, tmp_path, capsys):
    assert [guard_csv_cell(v) for v in ("=1+1", "+1", "-x", "@SUM(A1)", "\tx", "\rx", "'q", "ok", "a=b")] == [
        "'=1+1", "'+1", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "''q", "ok", "a=b"]
    data = _csv(tmp_path / "in.csv", first_sentence='=HYPERLINK("http://evil","click")')
    out = tmp_path / "preds.csv"
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(out)]) == 0
    assert pd.read_csv(out)["sentence"][0] == "'=HYPERLINK(\"http://evil\",\"click\")"
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(out), "--raw-text"]) == 0
    assert pd.read_csv(out)["sentence"][0] == "=HYPERLINK(\"http://evil\",\"click\")"
    assert json.loads((model / "config.json").read_text())  # the model folder is untouched


# ------------------------------------------------------------ one-line errors


def test_device_cuda_without_cuda_is_one_line(tiny_bert, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this torch has CUDA")
    status = main(["train", "--data", "demo", "--model", str(tmp_path / "m"), "--encoder", tiny_bert,
                   "--param", "device=cuda"])
    _one_line_error(capsys, status, "'device'", "torch.cuda.is_available() is False", "device='cpu'")


@pytest.mark.parametrize("device, fragment", [
    ("xpu", "cannot use xpu here"), ("meta", "the meta device holds no data"), ("npu", "must be a torch device"),
    ("hpu", "cannot use hpu here"), ("nonsense", "must be a torch device"), ("cpu:", "must be a torch device"),
])
def test_every_device_this_torch_lacks_is_one_line(device, fragment, tiny_bert, tmp_path, capsys):
    import torch

    if device in ("xpu", "hpu") and getattr(getattr(torch, device, None), "is_available", lambda: False)():
        pytest.skip(f"this torch has {device}")
    status = main(["train", "--data", "demo", "--model", str(tmp_path / "m"), "--encoder", tiny_bert,
                   "--param", f"device={device}"])
    _one_line_error(capsys, status, "'device'", fragment)
    assert not (tmp_path / "m").exists()


def test_train_reads_a_cr_only_csv_and_a_full_disk_is_one_line(tiny_bert, tmp_path, capsys, monkeypatch):
    import errno

    import empathy_cause.network.model_files as model_files

    data = tmp_path / "cr.csv"
    data.write_bytes(_csv(tmp_path / "lf.csv").read_bytes().replace(b"\n", b"\r"))
    args = ["train", "--data", str(data), "--encoder", tiny_bert, "--max-epochs", "1", "--quiet",
            "--param", "hidden_size=16", "--param", "validation_fraction=null"]
    assert main([*args, "--model", str(tmp_path / "m")]) == 0

    def full(file, content):
        raise OSError(errno.ENOSPC, "No space left on device", str(file))

    monkeypatch.setattr(model_files, "_write_synced", full)
    capsys.readouterr()
    status = main([*args, "--model", str(tmp_path / "m2")])
    _one_line_error(capsys, status, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cr.csv", "lf.csv", "m"]


def test_special_files_are_written_directly_and_a_file_is_no_output_folder(model, tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    data = _csv(tmp_path / "in.csv")
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", str(fifo)]) == 0
    out, _ = reader.communicate(timeout=60)
    assert out.startswith("pair_id,thread_id,sentence_index,sentence,probability,prediction\n")
    assert fifo.exists() and not fifo.is_file()  # still the FIFO, nothing renamed over it
    assert main(["predict", "--data", str(data), "--model", str(model), "--out", os.devnull]) == 0
    if os.path.exists("/dev/full"):  # a disk that is always full: one line, not a traceback
        capsys.readouterr()
        status = main(["predict", "--data", str(data), "--model", str(model), "--out", "/dev/full"])
        _one_line_error(capsys, status, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "pipe"]
    capsys.readouterr()
    _one_line_error(capsys, main(["analyze", "--data", "demo", "--out", str(data)]), "is a file; give a folder")


def test_a_closed_standard_output_stops_predict_quietly(model, tmp_path):
    """`empathy-cause predict ... | head -1`: exit 141 (SIGPIPE's status), no traceback."""
    data = _csv(tmp_path / "in.csv", n_copies=20)
    process = _start(["predict", "--data", str(data), "--model", str(model), "--chunk-pairs", "1"])
    assert process.stdout.readline().startswith("pair_id,")
    process.stdout.close()  # the reader goes away
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err, err


@pytest.mark.slow
def test_sigterm_during_train_saves_nothing_and_exits_143(tiny_bert, tmp_path):
    model = tmp_path / "model"
    process = _start(["train", "--data", "demo", "--model", str(model), "--encoder", tiny_bert, "--max-epochs", "500",
                      "--param", "hidden_size=16", "--param", "validation_fraction=null", "--param", "threshold=0.5"])
    deadline = time.monotonic() + 120
    for line in process.stdout:  # the epoch table's first row: training is under way
        if line.strip()[:1].isdigit() or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
