"""Explaining predictions: the HTML view and the attention heatmap.

``explain`` scores the sentences of one post against a reply and returns the
co-attention weights; ``render_html`` writes every held-out post with its
sentences shaded by cause probability, the threshold and the metrics.

Writes ``attention.png`` and ``causes.html`` into the folder
``empathy-cause-examples/`` under the current directory (or the folder named by
the environment variable ``EMPATHY_CAUSE_EXAMPLE_OUT``).
"""

import os
from pathlib import Path

from empathy_cause import EmpathyCauseClassifier, ThreadShuffleSplit, cause_metrics, load_demo
from empathy_cause.data import DEMO_PARAMS
from empathy_cause.prediction.visualize import plot_attention, render_html

out = Path(os.environ.get("EMPATHY_CAUSE_EXAMPLE_OUT", "empathy-cause-examples"))
out.mkdir(parents=True, exist_ok=True)

# %%
# The quickstart's model: settings for the small demo set (DEMO_PARAMS says why).
X, y, _ = load_demo()
train, test = next(ThreadShuffleSplit(test_size=0.25, random_state=0).split(X))
clf = EmpathyCauseClassifier(**DEMO_PARAMS, random_state=0).fit(X.iloc[train], y[train])

# %%
# Any post and reply, as plain text: the post is split into sentences.
sentences, attention = clf.explain(
    "I'm 16 and my acne is so bad that I skip school. I wash my face twice a day. "
    "I just don't want anyone to look at my face.",
    "I skipped a lot of school for the same reason. You are not alone in this.")
print(sentences)

# %%
# Rows are post sentences, columns reply sentences; each row sums to 1.
# ``ax=`` draws into a figure of your own, as scikit-learn's displays do.
ax = plot_attention(attention, out / "attention.png", title="a school post")

# %%
# The held-out posts, with the metrics of these predictions at the top of the page.
X_test = X.iloc[test].reset_index(drop=True)
proba = clf.predict_proba(X_test)[:, 1]
page = render_html(X_test, proba, out / "causes.html", y=y[test], threshold=clf.decision_threshold())
print(f"wrote {page} and {out / 'attention.png'}")

# %%
# The page's F1 beside the figure to beat, calling every sentence a cause.
f1 = cause_metrics(y[test], proba >= clf.decision_threshold())["f1"]
every = cause_metrics(y[test], [1] * len(test))["f1"]
print(f"held-out F1 {f1:.3f}; calling every sentence a cause: {every:.3f}")
