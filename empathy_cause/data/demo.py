"""A small built-in demo set of acne-support-forum pairs."""

import json
from importlib import resources

from .frame import THREAD_ID
from .pairs import _pairs_to_frame

__all__ = ["load_demo", "DEMO_PARAMS"]

_FILE = "demo_pairs.json"

#: Fixed-epoch ``EmpathyCauseClassifier`` settings the demo set needed before the defaults learnt from a
#: few dozen pairs (since issue 24 the defaults cross-fit their epoch and threshold on small data and
#: start from the similarity regression, and score at least as well on the demo set). Kept for two
#: uses: a reference row of the learning-curve benchmark, and a cheap estimator inside searches, where
#: each of many fits should be one fixed-length fit:
#:
#: - ``validation_fraction=None``: no validation split, ``max_epochs`` epochs at a fixed ``threshold``;
#: - ``threshold=0.25``: with one cause in five sentences and so few examples, the cause
#:   probabilities stay low, and 0.5 would call almost nothing a cause;
#: - ``position_features=False, context_layers=0``: the demo's causes are in what a sentence says,
#:   not where it stands;
#: - ``lr=3e-3``: a small head trained for a fixed 30 epochs on a few hundred rows.
DEMO_PARAMS = {"lr": 3e-3, "max_epochs": 30, "threshold": 0.25, "validation_fraction": None,
               "position_features": False, "context_layers": 0, "loss": "ce"}


def _demo_pairs(threads):
    """Yield one pair dict per reply of each demo thread."""
    for thread in threads:
        for k, reply in enumerate(thread["replies"], start=1):
            yield {
                "post": thread["post"],
                "reply": reply["reply"],
                "labels": reply["labels"],
                "pair_id": f"{thread['thread_id']}_r{k}",
                "thread_id": thread["thread_id"],
                "title": thread["title"],
            }


def load_demo():
    """Load the built-in demo set: 40 invented acne-forum pairs.

    Sixteen initial posts of 5 to 9 sentences, each with two or three
    empathetic replies, and one 0/1 label per post sentence saying whether it
    caused the reply's empathy (about a fifth are causes: sentences about
    emotional struggle, isolation, shame or failed treatments that the reply
    addresses; routine details and product questions are 0). The texts were
    written for this project, not taken from real users. The set is meant
    for examples, smoke tests and tutorials, not for measuring models.

    Returns
    -------
    X : pandas.DataFrame
        The sentence-row frame, with ``pair_id`` (``"demo01_r1"``...),
        ``thread_id`` (one per initial post) and the thread's ``title``.
    y : numpy.ndarray of int64
        The labels, one per row.
    groups : numpy.ndarray
        The thread id of each row.
    """
    text = resources.files(__package__).joinpath(_FILE).read_text(
        encoding="utf-8")
    threads = json.loads(text)["threads"]
    X, y = _pairs_to_frame(
        _demo_pairs(threads), post="post", reply="reply", labels="labels",
        pair_id="pair_id", thread_id="thread_id",
        where=lambda i: f"{_FILE}: pair {i}",
    )
    return X, y, X[THREAD_ID].to_numpy()
