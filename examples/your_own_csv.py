"""Bringing your own data: a CSV of post-reply pairs with sentence labels.

The layout is AcnEmpathize-Cause's: one row per pair, the post's sentences and
the labels as list literals. Pass the path of your file as the first argument;
without one, this script writes ``pairs.csv`` from the demo set to show the
format. Costs one fit. Writes the CSV (without an argument) and the model folder
``pairs.model`` into ``empathy-cause-examples/`` under the current directory (or
the folder named by the environment variable ``EMPATHY_CAUSE_EXAMPLE_OUT``).
"""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from empathy_cause import EmpathyCauseClassifier, frame_to_pairs, load_acnempathize_cause, load_demo
from empathy_cause.data import DEMO_PARAMS

out = Path(os.environ.get("EMPATHY_CAUSE_EXAMPLE_OUT", "empathy-cause-examples"))
out.mkdir(parents=True, exist_ok=True)

if len(sys.argv) > 1:
    path = Path(sys.argv[1])
else:
    # %%
    # The format: ``post_sentences`` and ``labels`` are Python list literals,
    # ``thread_id`` keeps replies to one post together (optional).
    pairs = frame_to_pairs(*load_demo()[:2])
    path = out / "pairs.csv"
    pd.DataFrame({"post_sentences": pairs["post"].map(list).map(str), "reply": pairs["reply"],
                  "labels": pairs["labels"].map(str), "thread_id": pairs["thread_id"]}).to_csv(path, index=False)
    print(pd.read_csv(path).head(2).to_string())

# %%
# Load, train, save; other column names are options of the loader. DEMO_PARAMS
# suits a file of a few dozen pairs; for thousands, use EmpathyCauseClassifier().
X, y, groups = load_acnempathize_cause(path)
clf = EmpathyCauseClassifier(**DEMO_PARAMS, random_state=0).fit(X, y)
saved = clf.save(out / f"{path.stem}.model")
print(f"{len(X)} sentences, {len(set(groups))} threads; model saved to {saved}")

# %%
# The saved folder holds the whole model: loaded back, it scores every sentence
# exactly as the model that was trained (same probabilities, same threshold).
loaded = EmpathyCauseClassifier.load(saved)
same = np.isclose(loaded.predict_proba(X)[:, 1], clf.predict_proba(X)[:, 1]).sum()
print(f"the loaded model agrees with the trained one on {same} of {len(X)} sentences")
