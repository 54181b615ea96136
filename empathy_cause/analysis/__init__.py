"""Dataset analyses of the paper's section 4, for any sentence-row dataset.

Every function takes the library's sentence-row frame ``X`` (one row per post
sentence, see :func:`empathy_cause.data.frame.validate_frame`) and its 0/1
labels ``y`` and returns a :class:`pandas.DataFrame`:

* :func:`dataset_counts` -- pairs, posts, replies, sentences, causes, threads;
* :func:`top_terms` -- most frequent words or bigrams in cause sentences
  (the paper's Figures 1 and 2; drawn by :func:`plot_top_terms`);
* :func:`polarity` -- TextBlob polarity of cause vs non-cause sentences
  (Table 1);
* :func:`nrc_emotions` -- NRC emotion lexicon frequencies of cause vs
  non-cause sentences (Table 2; drawn by :func:`plot_nrc_emotions`);
* :func:`lda_topics` -- latent Dirichlet allocation on cause sentences
  (Table 5);
* :func:`write_report` -- all of the above as ``report.md`` plus PNG figures.

Units: each *row* of ``X`` is counted once. A sentence of a post that has two
replies appears in two rows (one per pair) and may be a cause in one and not
in the other; it then counts once as a cause sentence and once as a non-cause
sentence, exactly as in the paper's pair layout.

:func:`polarity` needs ``textblob`` and :func:`nrc_emotions` needs ``nrclex``
(only for the lexicon file it ships); both come with
``pip install "empathy_cause[analysis]"``. They are imported inside the
functions, so this module imports without them. Nothing here downloads
anything: TextBlob's default sentiment analyser reads a lexicon bundled with
textblob, and the NRC lexicon is read from nrclex's package data with this
module's own tokenizer (NRCLex's raw-text path would need NLTK corpora).
"""

from ._emotions import NRC_EMOTIONS, load_nrc_lexicon, nrc_emotions, plot_nrc_emotions
from ._report import write_report
from ._terms import dataset_counts, lda_topics, plot_top_terms, polarity, top_terms

__all__ = [
    "NRC_EMOTIONS",
    "dataset_counts",
    "lda_topics",
    "load_nrc_lexicon",
    "nrc_emotions",
    "plot_nrc_emotions",
    "plot_top_terms",
    "polarity",
    "top_terms",
    "write_report",
]
