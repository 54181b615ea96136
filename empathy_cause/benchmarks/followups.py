"""The paper's follow-up analyses (section 6.2.1) as rows of a second table.

Command line: ``empathy-cause benchmark followups --data PATH`` (or
``python benchmarks/followups.py``). Same protocol as the ablation
(:mod:`empathy_cause.benchmarks.common`); every row starts from the paper's
best configuration (binary focal loss, no class weights) and changes one thing:

- ``baseline``: that configuration unchanged, the row to compare against.
- ``threshold``: ``TunedThresholdClassifierCV(clf, scoring="f1", cv=ThreadKFold(3))``
  picks the decision threshold by cross-validation on the training part.
- ``undersample``: ``imblearn.pipeline.Pipeline([RandomUnderSampler, clf])``
  drops training rows of the majority class until both classes are equal.
- ``undersample_sentences``: the paper's undersampling: an imblearn
  ``FunctionSampler`` removes random non-cause sentences from the training
  posts themselves (rows and context) until the classes are equal.
- ``balanced``: the paper's balanced dataset: non-cause sentences are removed
  at random from the whole dataset (train, validation and test) until the
  classes are equal, and removed from their posts. Test numbers are on a
  balanced test set and not comparable with the other rows.
- ``stopwords`` / ``lemmatize``: a :class:`~empathy_cause.preprocessing.TextPreprocessor`
  in front of the classifier.
- ``synonyms`` / ``backtranslation``: data augmentation; not available
  offline (listed with a note, never run).
"""

from __future__ import annotations

import argparse

from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.pipeline import Pipeline

from ..model_selection.splitters import ThreadKFold
from ..preprocessing import TextPreprocessor, balance_dataset, lemmatizer_available
from .common import Config, add_common_arguments, run_from_args, runs_caption

__all__ = ["CONFIGS", "build_parser", "main"]

FOCAL = {"loss": "focal", "alpha": None}


def _tuned_threshold(estimator):
    return TunedThresholdClassifierCV(estimator, scoring="f1", cv=ThreadKFold(3))


def _undersampled(estimator):
    from imblearn.pipeline import Pipeline as ImbPipeline
    from imblearn.under_sampling import RandomUnderSampler

    return ImbPipeline([("under", RandomUnderSampler(random_state=estimator.random_state)),
                        ("clf", estimator)])


def _drop_training_sentences(X, y, random_state=None):
    """The paper's undersampling: non-cause sentences removed from the training posts."""
    return balance_dataset(X, y, keep_context=False, random_state=random_state)


def _undersampled_with_context(estimator):
    from imblearn import FunctionSampler
    from imblearn.pipeline import Pipeline as ImbPipeline

    sampler = FunctionSampler(func=_drop_training_sentences, validate=False,
                              kw_args={"random_state": estimator.random_state})
    return ImbPipeline([("under", sampler), ("clf", estimator)])


def _preprocessed(**options):
    def build(estimator):
        return Pipeline([("prep", TextPreprocessor(**options)), ("clf", estimator)])
    return build


def _balanced(X, y, seed):
    return balance_dataset(X, y, random_state=seed)


_LEMMA_NOTE = ("" if lemmatizer_available() else
               "Lemmatisation needs the optional package simplemma (pure Python, ships its "
               "dictionaries): pip install simplemma.")

CONFIGS = {
    c.name: c for c in [
        Config("baseline", "Binary Focal Loss (reference)", FOCAL),
        Config("threshold", "Threshold tuning (TunedThresholdClassifierCV, F1)", FOCAL,
               builder=_tuned_threshold,
               note="Threshold chosen by ThreadKFold(3) cross-validation on the training part, "
                    "maximising F1; the model is then refitted on the whole training part."),
        Config("undersample", "Random undersampling (training rows)", FOCAL, builder=_undersampled,
               note="RandomUnderSampler drops non-cause training rows until the classes are equal. "
                    "Each row carries its whole post, so unlike the paper's undersampling no "
                    "context is removed: only training targets are."),
        Config("undersample_sentences", "Undersampling, sentences removed from posts", FOCAL,
               builder=_undersampled_with_context,
               note="The paper's undersampling: a FunctionSampler removes random non-cause "
                    "sentences from the training posts (rows and context) until the classes are "
                    "equal; validation and test are untouched."),
        Config("balanced", "Balanced dataset", FOCAL, dataset=_balanced,
               note="Non-cause sentences removed at random from the whole dataset (train, "
                    "validation and test) and from their posts until the classes are equal, as "
                    "in the paper. Its test set is balanced: its numbers are not comparable with "
                    "the other rows."),
        Config("stopwords", "Stopword removal", FOCAL,
               builder=_preprocessed(remove_stopwords=True),
               note="scikit-learn's ENGLISH_STOP_WORDS removed from post sentences and reply."),
        Config("lemmatize", "Lemmatisation", FOCAL, builder=_preprocessed(lemmatize=True),
               kind="neural" if lemmatizer_available() else "unavailable",
               note=_LEMMA_NOTE or "Lemmas from simplemma (offline dictionaries)."),
        Config("synonyms", "Synonym replacement (augmentation)", kind="unavailable",
               note="Needs a thesaurus (e.g. WordNet); none installs with its data offline "
                    "(nltk's WordNet is a separate download), so this row is not run."),
        Config("backtranslation", "Back-translation (augmentation)", kind="unavailable",
               note="Needs machine-translation models, which cannot be downloaded here; "
                    "not run rather than faked."),
    ]
}


def _caption(args):
    return runs_caption(args, "every row is binary focal loss with one change. Precision, recall and F1 of the "
                              "cause class.")


def build_parser(prog=None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "empathy-cause benchmark followups",
        description="The paper's follow-up analyses (section 6.2.1): threshold tuning, "
                    "undersampling, a balanced dataset, stopword removal and lemmatisation, "
                    "with the ablation's protocol; writes table.md, results.json and "
                    "precision_recall.png.")
    return add_common_arguments(parser, default_out="results/followups", config_names=list(CONFIGS))


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return run_from_args("followups", args, CONFIGS, title_column="Condition", caption=_caption)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
