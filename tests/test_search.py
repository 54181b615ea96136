"""The resumable, multi-worker search: shared SQLite study, killed workers, trial caps."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
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
from tests.tiny_models import make_tiny_bert  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _trials(url, name):
    study = optuna.load_study(study_name=name, storage=make_storage(url, heartbeat_interval=1))
    return study.get_trials(deepcopy=False)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    return str(make_tiny_bert(tmp_path_factory.mktemp("search") / "bert"))


def test_two_worker_processes_share_one_study(tmp_path, tiny_encoder):
    """Two CLI workers started at once (racing to create the study) add up their trials."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    args = ["--data", "demo", "--encoder", tiny_encoder, "--max-epochs", "1", "--folds", "2",
            "--storage", url, "--study-name", "shared", "--n-trials", "2"]
    workers = [subprocess.Popen([sys.executable, "-m", "empathy_cause.benchmarks.search", *args,
                                 "--seed", str(i), "--out", str(tmp_path / f"w{i}")],
                                cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
               for i in range(2)]
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    trials = _trials(url, "shared")
    assert len(trials) == 4
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state == TrialState.COMPLETE for t in trials)
    report = json.loads((tmp_path / "w0" / "best.json").read_text())
    assert report["best_score"] == max(t.value for t in trials)
    assert set(report["best_estimator_params"]) >= {"lr", "loss", "threshold"}

    # The study-wide cap: with 4 complete trials and max_trials=4 nothing more runs.
    study = create_study(make_storage(url, heartbeat_interval=1), "shared")
    from empathy_cause import load_demo

    X, y, _ = load_demo()
    assert run_search(X, y, study=study, max_trials=4) is None
    assert len(study.trials) == 4


SLEEPY_WORKER = textwrap.dedent("""
    import sys, time
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from sklearn.dummy import DummyClassifier
    from empathy_cause import load_demo
    from empathy_cause.benchmarks.search import (
        create_study, interrupt_leaves_trial_running, make_storage, run_search)

    class Sleepy(DummyClassifier):
        '''A DummyClassifier that logs its fits and hangs after ``hang_after`` of them.'''

        def __init__(self, strategy="prior", random_state=None, constant=None, noise=0.0,
                     log=None, hang_after=None):
            super().__init__(strategy=strategy, random_state=random_state, constant=constant)
            self.noise = noise
            self.log = log
            self.hang_after = hang_after

        def fit(self, X, y, sample_weight=None):
            with open(self.log, "a") as f:
                f.write("fit\\n")
            with open(self.log) as f:
                n = len(f.readlines())
            if self.hang_after is not None and n > self.hang_after:
                open(self.log + ".hang", "w").close()
                time.sleep(600)
            return super().fit(X, y, sample_weight)

    url, log, n_trials, hang_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    hang_after = None if hang_after == "none" else int(hang_after)
    storage = make_storage(url, heartbeat_interval=1, grace_period=2)
    study = create_study(storage, "resume", seed=0)
    X, y, _ = load_demo()
    space = {"strategy": CategoricalDistribution(["prior", "stratified", "uniform"]),
             "noise": FloatDistribution(0.0, 1.0)}
    with interrupt_leaves_trial_running():
        run_search(X, y, study=study, estimator=Sleepy(log=log, hang_after=hang_after),
                   param_distributions=space, n_trials=n_trials, cv=2)
""")


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


def test_searchable_classifier_maps_cause_weight(tiny_encoder):
    from sklearn.base import clone

    clf = SearchableClassifier(tiny_encoder, loss="weighted", cause_weight=5.0)
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
