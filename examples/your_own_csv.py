"""Bringing your own data: a file of post-reply pairs with your own ids, and predictions joined back to it.

One row per pair: the post as raw text (split into sentences with the paper's
splitter; a list of sentences works too), the reply, the labels as a list of
0/1 per sentence, your own ``pair_id`` and ``thread_id`` and any other column.
The same reads from ``.tsv``, ``.jsonl`` and ``.parquet`` files; other column
names are mapped with ``columns={"post": "body", ...}``. Pass the path of your
file as the first argument; without one, this script writes ``pairs.csv`` from
the demo set to show the format. Costs one fit. Writes the CSV (without an argument) and the model folder
``pairs.model`` into ``empathy-cause-examples/`` under the current directory (or
the folder named by the environment variable ``EMPATHY_CAUSE_EXAMPLE_OUT``).
"""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from empathy_cause import EmpathyCauseClassifier, frame_to_pairs, load_dataset, load_demo
from empathy_cause.data import DEMO_PARAMS
from empathy_cause.prediction import score_chunk

out = Path(os.environ.get("EMPATHY_CAUSE_EXAMPLE_OUT", "empathy-cause-examples"))
out.mkdir(parents=True, exist_ok=True)

if len(sys.argv) > 1:
    path = Path(sys.argv[1])
else:
    # %%
    # The format: ``post`` is the raw text, ``labels`` a list literal (one 0/1 per
    # sentence), ``pair_id`` and ``thread_id`` your own ids (both optional).
    pairs = frame_to_pairs(*load_demo()[:2])
    path = out / "pairs.csv"
    pd.DataFrame({"pair_id": pairs["pair_id"], "thread_id": pairs["thread_id"],
                  "post": pairs["post"].map(" ".join), "reply": pairs["reply"],
                  "labels": pairs["labels"].map(str)}).to_csv(path, index=False)
    print(pd.read_csv(path).head(2).to_string())

# %%
# Load (no option needed with these column names), train, save. DEMO_PARAMS
# suits a file of a few dozen pairs; for thousands, use EmpathyCauseClassifier().
X, y, groups = load_dataset(path)
clf = EmpathyCauseClassifier(**DEMO_PARAMS, random_state=0).fit(X, y)
saved = clf.save(out / f"{path.stem}.model")
print(f"{len(X)} sentences, {len(set(groups))} threads; model saved to {saved}")

# %%
# The saved folder holds the whole model: loaded back, it scores every sentence
# exactly as the model that was trained (same probabilities, same threshold).
loaded = EmpathyCauseClassifier.load(saved)
same = np.isclose(loaded.predict_proba(X)[:, 1], clf.predict_proba(X)[:, 1]).sum()
print(f"the loaded model agrees with the trained one on {same} of {len(X)} sentences")

# %%
# Predictions carry your pair_id and thread_id (read as text, as written), so
# they join back onto your file: one prediction row per post sentence.
predictions = score_chunk(loaded, X)
yours = pd.read_csv(path, dtype={"pair_id": str, "thread_id": str})
joined = predictions.merge(yours.drop(columns=["post", "labels"]), on=["pair_id", "thread_id"], how="left",
                           validate="many_to_one")
print(joined[["pair_id", "sentence_index", "probability", "prediction"]].head(3).to_string())
print(f"{joined['reply'].notna().sum()} of {len(predictions)} predictions joined to their pair")
