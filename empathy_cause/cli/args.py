"""Command-line glue shared by ``empathy-cause`` and every benchmark: ``--param`` and estimator options.

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

__all__ = ["parse_param", "add_param_argument", "estimator_params_from_args"]


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
