"""Bringing your own data: a CSV of post-reply pairs with sentence labels.

The layout is AcnEmpathize-Cause's: one row per pair, the post's sentences and
the labels as list literals. Pass the path of your file as the first argument;
without one, this script writes a small CSV from the demo set to show the
format. Costs one fit.
"""

import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from empathy_cause import EmpathyCauseClassifier, frame_to_pairs, load_acnempathize_cause, load_demo

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"

if len(sys.argv) > 1:
    path = Path(sys.argv[1])
else:
    # %%
    # The format: ``post_sentences`` and ``labels`` are Python list literals,
    # ``thread_id`` keeps replies to one post together (optional).
    pairs = frame_to_pairs(*load_demo()[:2])
    path = Path(tempfile.mkdtemp()) / "pairs.csv"
    pd.DataFrame({"post_sentences": pairs["post"].map(list).map(str), "reply": pairs["reply"],
                  "labels": pairs["labels"].map(str), "thread_id": pairs["thread_id"]}).to_csv(path, index=False)
    print(pd.read_csv(path).head(2).to_string())

# %%
# Load, train, save; other column names are options of the loader.
X, y, groups = load_acnempathize_cause(path)
clf = EmpathyCauseClassifier(lr=1e-3, validation_fraction=None, threshold=0.3,
                             max_epochs=1 if QUICK else 20, random_state=0).fit(X, y)
saved = clf.save(path.with_suffix(".model"))
print(f"{len(X)} sentences, {len(set(groups))} threads; model saved to {saved}")
