"""Explaining predictions: the HTML view and the attention heatmap.

``explain`` scores the sentences of one post against a reply and returns the
co-attention weights; ``render_html`` writes every held-out post with its
sentences shaded by cause probability, the threshold and the metrics.
"""

import os
import tempfile
from pathlib import Path

from empathy_cause import EmpathyCauseClassifier, ThreadShuffleSplit, load_demo
from empathy_cause.visualize import plot_attention, render_html

QUICK = os.environ.get("EMPATHY_CAUSE_QUICK") == "1"
out = Path(os.environ.get("EMPATHY_CAUSE_EXAMPLE_OUT") or tempfile.mkdtemp())

X, y, _ = load_demo()
train, test = next(ThreadShuffleSplit(test_size=0.25, random_state=0).split(X))
clf = EmpathyCauseClassifier(lr=1e-3, loss="ce", validation_fraction=None, threshold=0.3,
                             max_epochs=2 if QUICK else 30, random_state=0).fit(X.iloc[train], y[train])

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
# The held-out posts, with the metrics of these predictions at the top.
X_test = X.iloc[test].reset_index(drop=True)
page = render_html(X_test, clf.predict_proba(X_test), out / "causes.html", y=y[test],
                   threshold=clf.decision_threshold())
print(f"wrote {page} and {out / 'attention.png'}")
