"""Lists written as text: how a cell that holds a Python list literal is told apart from a raw post, and read.

A CSV file can only hold text, so the paper's layout writes a post's sentences
and its labels as list literals (``"['I hate my skin.', 'It hurts.']"``,
``"[0, 1]"``). The file readers parse such cells; :func:`pairs_to_frame`, which
receives what ``pandas.read_csv`` gives, refuses them with the fix instead of
splitting the literal's text into "sentences".
"""

from __future__ import annotations

import ast
import re

__all__ = ["is_list_literal", "parse_list_literal", "READ_CSV_FIX"]

# "[" then a quote (a list of strings, even a truncated one), or "[" ... "]" as the whole cell.
_OPENS_LIST = re.compile(r"\A\s*\[\s*(?:[rRuUbB]{0,2}['\"]|\])")

#: What to do when a list reached pairs_to_frame as text (pandas.read_csv reads every cell as text).
READ_CSV_FIX = ("pandas.read_csv reads lists as text: parse the column first, e.g. "
                "pairs[column] = pairs[column].map(ast.literal_eval), or read the file with "
                "empathy_cause.load_dataset(path), which does")


def is_list_literal(text) -> bool:
    """Whether a str cell is written as a Python list (``[...]`` whole, or ``['``/``["`` at the start).

    A raw post that merely starts with a bracket (``"[Update] my skin..."``) is
    not one: it neither opens with a quoted item nor ends with ``]``.
    """
    if not isinstance(text, str):
        return False
    stripped = text.strip()
    return stripped.startswith("[") and (stripped.endswith("]") or bool(_OPENS_LIST.match(stripped)))


def parse_list_literal(text: str, column: str, where: str) -> list:
    """The list a cell spells, parsed with ``ast.literal_eval`` (never ``eval``), or a one-line ``ValueError``."""
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(
            f"{where}: column '{column}' is not a Python list literal ({type(exc).__name__}): {text[:80]!r}; "
            "write the list as ['First sentence.', 'Second.'] (or the post as plain text, which is split into "
            "sentences)"
        ) from None
    if not isinstance(parsed, (list, tuple)):
        raise ValueError(f"{where}: column '{column}' must hold a list literal, got a "
                         f"{type(parsed).__name__}: {text[:80]!r}")
    return list(parsed)
