"""Command-line glue shared by ``empathy-cause`` and every benchmark: ``--data``, ``--param``, the seed.

``--data PATH`` takes every format of :data:`empathy_cause.data.FORMATS`, with
``--subset`` for the corpora and ``--columns ROLE=COLUMN,...`` naming the
columns of a file of pairs (``--columns post=body,reply=answer,pair_id=id``;
``ROLE=`` with nothing after it: the file has none, e.g. ``labels=``).

``--param KEY=VALUE`` sets any estimator parameter. VALUE is read as **JSON**
(one rule everywhere): ``--param lr=3e-4`` is a float, ``--param
validation_fraction=null`` is None, ``--param finetune=true`` is True and
``--param class_weight=[1, 3]`` is the tuple ``(1, 3)`` (a JSON list becomes a
tuple, the form scikit-learn parameters take). A VALUE that is not JSON is
kept as a string, so ``--param loss=ce`` needs no quotes.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["parse_param", "add_param_argument", "estimator_params_from_args", "parse_columns", "add_data_arguments",
           "data_options", "add_random_state_argument", "at_least"]


def parse_param(text: str):
    """``"KEY=VALUE"`` -> ``(key, value)``, the value read as JSON (lists as tuples), else kept as text.

    Examples
    --------
    >>> parse_param("lr=3e-4"), parse_param("loss=ce"), parse_param("class_weight=[1, 3]")
    (('lr', 0.0003), ('loss', 'ce'), ('class_weight', (1, 3)))
    """
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return key, value
    return key, tuple(parsed) if isinstance(parsed, list) else parsed


def at_least(minimum: int):
    """An argparse ``type``: an integer no smaller than ``minimum`` (else argparse's one-line usage error)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def add_param_argument(parser, help="any other EmpathyCauseClassifier parameter, e.g. --param lr=3e-4"):
    """Add the repeatable ``--param KEY=VALUE`` option (values read by :func:`parse_param`)."""
    parser.add_argument("--param", type=parse_param, action="append", default=[], metavar="KEY=VALUE",
                        help=f"{help} (repeatable; VALUE is JSON: 3e-4, null, true, [1, 3]; else text)")
    return parser


def estimator_params_from_args(args, names=("encoder", "cache_dir", "max_epochs", "patience", "random_state")):
    """Estimator parameters from parsed options: each of ``names`` given (not None), then every ``--param``.

    A ``--param`` wins over a named option with the same key. Names the parser
    does not define are skipped.
    """
    params = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    params.update(dict(getattr(args, "param", None) or []))
    return params


def parse_columns(text: str) -> dict:
    """``"post=body,reply=answer,labels="`` -> ``{"post": "body", "reply": "answer", "labels": None}``.

    Examples
    --------
    >>> parse_columns("post=body, pair_id=id,labels=")
    {'post': 'body', 'pair_id': 'id', 'labels': None}
    """
    from ..data.tables import ROLES

    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        role, sep, column = item.partition("=")
        role, column = role.strip(), column.strip()
        if not sep or role not in ROLES:
            raise argparse.ArgumentTypeError(f"expected ROLE=COLUMN with ROLE one of {', '.join(ROLES)}, got {item!r}")
        mapping[role] = column or None
    return mapping


def add_data_arguments(parser, *, default=None):
    """``--data`` (every format, stated), ``--subset`` and ``--columns``; ``default`` None makes --data required."""
    from ..data.formats import formats_help

    parser.add_argument("--data", required=default is None, default=default,
                        help=f"{formats_help()}" + (f" (default: {default})" if default else ""))
    parser.add_argument("--subset", default=None,
                        help="which split of a corpus: RECCON train/valid/test, ECF train/dev/test, CovidET-EXT "
                             "train/val/test (default: train); files of pairs take none")
    parser.add_argument("--columns", type=parse_columns, action="append", default=[], metavar="ROLE=COLUMN,...",
                        help="the columns of a file of pairs, for roles post, reply, labels, pair_id, thread_id, "
                             "e.g. --columns post=body,reply=answer,pair_id=id; 'labels=' reads it unlabelled "
                             "(default: post_sentences or post, reply, labels, pair_id, thread_id, each used when "
                             "the file has it; without labels the file is unlabelled, without ids they are derived)")
    return parser


def data_options(args) -> dict:
    """The reader's keyword arguments from :func:`add_data_arguments`' options (only those given)."""
    options = {}
    if getattr(args, "subset", None):
        options["subset"] = args.subset
    columns = {}
    for mapping in getattr(args, "columns", None) or []:
        columns.update(mapping)
    if columns:
        options["columns"] = columns
    return options


def add_random_state_argument(parser, *, default=0, help="seed of the split and the model", dest="random_state"):
    """``--random-state N``, the one name of the seed on every command (``--seed`` still works, unlisted)."""
    parser.add_argument("--random-state", dest=dest, type=int, default=default,
                        help=f"{help} (default: {default})")
    parser.add_argument("--seed", dest=dest, type=int, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser
