"""The resumable, multi-worker search: shared SQLite study, killed workers, trial caps."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("optuna_integration")

from optuna.trial import TrialState  # noqa: E402

from empathy_cause.benchmarks.search import (  # noqa: E402
    SearchableClassifier,
    create_study,
    estimator_params,
    make_storage,
    run_search,
)

REPO = Path(__file__).resolve().parent.parent
#: SQLAlchemy URL of a PostgreSQL database for the multi-machine tests (``.ci/run`` starts one).
POSTGRES_ENV = "EMPATHY_CAUSE_TEST_POSTGRES"


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request, tmp_path):
    """The study database: a SQLite file, or the PostgreSQL server named by $EMPATHY_CAUSE_TEST_POSTGRES.

    Without that variable the PostgreSQL case skips and says why, except
    under CI=true (``.ci/run``), where it fails: CI must test PostgreSQL.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        reason = (f"${POSTGRES_ENV} is not set, so there is no PostgreSQL server to test the shared "
                  f"study on (set it to e.g. postgresql+psycopg2://user@host/db; .ci/run starts a server)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver psycopg2 is not installed (test extra)")
    return url


def _study_name(prefix):
    """A fresh study name: the PostgreSQL database is shared by every test and run."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _trials(url, name):
    study = optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=1))
    return study.get_trials(deepcopy=False)


@pytest.mark.slow
def test_two_worker_processes_share_one_study(tmp_path, tiny_bert, storage_url):
    """Two CLI workers started at once (racing to create the study) add up their trials."""
    url, name = storage_url, _study_name("shared")
    args = ["--data", "demo", "--encoder", tiny_bert, "--max-epochs", "1", "--folds", "2",
            "--storage", url, "--study-name", name, "--n-trials", "2"]
    workers = [subprocess.Popen([sys.executable, "-m", "empathy_cause.benchmarks.search", *args,
                                 "--seed", str(i), "--out", str(tmp_path / f"w{i}")],
                                cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
               for i in range(2)]
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    trials = _trials(url, name)
    assert len(trials) == 4
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state == TrialState.COMPLETE for t in trials)
    # Each worker reports the study's best when it finishes; the one that finishes last has
    # seen every trial, the other may have finished while its partner's last trial ran.
    reports = [json.loads((tmp_path / f"w{i}" / "best.json").read_text()) for i in range(2)]
    values = [t.value for t in trials]
    assert all(r["best_score"] in values for r in reports)
    assert max(r["best_score"] for r in reports) == max(values)
    assert all(set(r["best_estimator_params"]) >= {"lr", "loss", "threshold"} for r in reports)

    # The study-wide cap: with 4 complete trials and max_trials=4 nothing more runs.
    study = create_study(make_storage(url, heartbeat_interval=1), name)
    from empathy_cause import load_demo

    X, y, _ = load_demo()
    assert run_search(X, y, study=study, max_trials=4) is None
    assert len(study.trials) == 4


SLEEPY_WORKER = textwrap.dedent("""
    import os, sys, time
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from sklearn.dummy import DummyClassifier
    from empathy_cause import load_demo
    from empathy_cause.benchmarks.search import (
        create_study, interrupt_leaves_trial_running, make_storage, run_search)

    class Sleepy(DummyClassifier):
        '''A DummyClassifier that logs its fits and hangs after ``hang_after`` of them.

        With ``gate``, every fit first waits until that file exists.
        '''

        def __init__(self, strategy="prior", random_state=None, constant=None, noise=0.0,
                     log=None, hang_after=None, gate=None):
            super().__init__(strategy=strategy, random_state=random_state, constant=constant)
            self.noise = noise
            self.log = log
            self.hang_after = hang_after
            self.gate = gate

        def fit(self, X, y, sample_weight=None):
            while self.gate and not os.path.exists(self.gate):
                time.sleep(0.1)
            with open(self.log, "a") as f:
                f.write("fit\\n")
            with open(self.log) as f:
                n = len(f.readlines())
            if self.hang_after is not None and n > self.hang_after:
                open(self.log + ".hang", "w").close()
                time.sleep(600)
            return super().fit(X, y, sample_weight)

    url, log, n_trials, hang_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    name = sys.argv[5] if len(sys.argv) > 5 else "resume"
    gate = sys.argv[6] if len(sys.argv) > 6 else None
    hang_after = None if hang_after == "none" else int(hang_after)
    storage = make_storage(url, heartbeat_interval=1, grace_period=2)
    study = create_study(storage, name, seed=0)
    X, y, _ = load_demo()
    space = {"strategy": CategoricalDistribution(["prior", "stratified", "uniform"]),
             "noise": FloatDistribution(0.0, 1.0)}
    with interrupt_leaves_trial_running():
        run_search(X, y, study=study, estimator=Sleepy(log=log, hang_after=hang_after, gate=gate),
                   param_distributions=space, n_trials=n_trials, cv=2)
""")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_search_resumes(tmp_path, sig):
    """Kill mid-trial, restart: finished trials kept, the interrupted one failed and retried."""
    script = tmp_path / "worker.py"
    script.write_text(SLEEPY_WORKER)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    log = tmp_path / "fits.log"
    hang = Path(str(log) + ".hang")

    # Phase 1: two trials (2 folds each) finish, the third hangs in its first fit; kill it.
    worker = subprocess.Popen([sys.executable, str(script), url, str(log), "10", "4"],
                              cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not hang.exists():
        assert worker.poll() is None, worker.stdout.read().decode()
        assert time.monotonic() < deadline, "the worker never reached the hanging trial"
        time.sleep(0.2)
    time.sleep(1.5)  # at least one heartbeat of the running trial is stored
    os.kill(worker.pid, sig)
    worker.wait(timeout=30)
    worker.stdout.close()

    before = _trials(url, "resume")
    assert [t.state for t in before] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.RUNNING]
    interrupted = before[2]

    # Phase 2: after the grace period, the same command continues the study.
    time.sleep(2.5)
    subprocess.run([sys.executable, str(script), url, str(log), "2", "none"],
                   cwd=REPO, env=_env(), check=True, timeout=120, capture_output=True)

    after = _trials(url, "resume")
    by_number = {t.number: t for t in after}
    for t in before[:2]:  # finished trials are kept as they were
        assert by_number[t.number].state == TrialState.COMPLETE
        assert by_number[t.number].value == t.value
    assert by_number[interrupted.number].state == TrialState.FAIL
    retries = [t for t in after if t.system_attrs.get("failed_trial") == interrupted.number]
    assert len(retries) == 1
    assert retries[0].state == TrialState.COMPLETE
    assert retries[0].params == interrupted.params
    assert sum(t.state == TrialState.COMPLETE for t in after) == 4


@pytest.mark.slow
def test_killed_worker_loses_nothing_while_another_runs(tmp_path, storage_url):
    """Two worker processes on one study; one is killed mid-trial: the other retries its trial.

    Worker A finishes one trial and hangs in the first fit of its second;
    worker B waits at a gate in its first fit until A has been killed and
    A's trial is older than the grace period. B's next trial then marks A's
    trial failed and runs it again with the same parameters.
    """
    script = tmp_path / "worker.py"
    script.write_text(SLEEPY_WORKER)
    url, name = storage_url, _study_name("killed")
    create_study(make_storage(url, heartbeat_interval=1, grace_period=2), name)  # once, before the workers
    log_a, log_b, gate = tmp_path / "a.log", tmp_path / "b.log", tmp_path / "gate"
    hang = Path(str(log_a) + ".hang")
    worker_a = subprocess.Popen([sys.executable, str(script), url, str(log_a), "10", "2", name],
                                cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    worker_b = subprocess.Popen([sys.executable, str(script), url, str(log_b), "3", "none", name, str(gate)],
                                cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not hang.exists():
            assert worker_a.poll() is None, worker_a.stdout.read().decode()
            assert time.monotonic() < deadline, "worker A never reached the hanging trial"
            time.sleep(0.2)
        time.sleep(1.5)  # a heartbeat of A's running trial is stored
        os.kill(worker_a.pid, signal.SIGKILL)
        worker_a.wait(timeout=30)
        # A's hung trial and B's first (waiting at the gate) are both running.
        while sum(t.state == TrialState.RUNNING for t in _trials(url, name)) < 2:
            assert worker_b.poll() is None, worker_b.stdout.read().decode()
            assert time.monotonic() < deadline, "worker B never started a trial"
            time.sleep(0.2)
        time.sleep(2.5)  # A's trial is now older than the grace period (2 s)
        gate.touch()
        output = worker_b.communicate(timeout=120)[0].decode()
        assert worker_b.returncode == 0, output
    finally:
        for worker in (worker_a, worker_b):
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            worker.stdout.close()

    trials = _trials(url, name)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 1  # A's interrupted trial
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == failed[0].params
    # Nothing lost: A's finished trial plus B's three (the retry among them), and nothing left running.
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 4
    assert len(trials) == 5


def test_searchable_classifier_maps_cause_weight(tiny_bert):
    from sklearn.base import clone

    clf = SearchableClassifier(tiny_bert, loss="weighted", cause_weight=5.0)
    assert clone(clf).get_params()["cause_weight"] == 5.0
    assert estimator_params({"loss": "weighted", "cause_weight": 5.0, "alpha": 0.3, "lr": 1e-3}) == {
        "loss": "weighted", "class_weight": (1.0, 5.0), "lr": 1e-3}
    assert estimator_params({"loss": "focal", "cause_weight": 5.0, "alpha": 0.3}) == {
        "loss": "focal", "alpha": 0.3}
    criterion = clf.initialize().criterion_
    np.testing.assert_allclose(criterion.weight.numpy(), [1.0, 5.0])


def test_search_needs_a_stopping_rule(tmp_path):
    study = create_study(make_storage(f"sqlite:///{tmp_path / 's.db'}"), "x")
    with pytest.raises(ValueError, match="never ends"):
        run_search(None, None, study=study)


def test_search_prints_the_baseline_beside_the_best_score(tmp_path, tiny_bert, capsys):
    from empathy_cause import load_demo
    from empathy_cause.benchmarks.search import build_parser, main
    from empathy_cause.metrics import cause_metrics

    assert main(["--data", "demo", "--encoder", tiny_bert, "--max-epochs", "1", "--folds", "2", "--n-trials", "1",
                 "--random-state", "0", "--out", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    y = load_demo()[1]
    every = cause_metrics(y, np.ones_like(y))["f1"]
    assert f"every_sentence_a_cause_f1 {every:.4f}" in printed and "best score" in printed
    assert json.loads((tmp_path / "best.json").read_text())["every_sentence_a_cause_f1"] == pytest.approx(every)
    # One name for the seed: --random-state, listed; --seed, the old spelling, still read and not listed.
    assert build_parser().parse_args(["--seed", "7"]).seed == 7
    assert "--random-state" in build_parser().format_help() and "--seed" not in build_parser().format_help()
