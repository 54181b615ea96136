"""The `empathy-cause` command (``command``), its ``--param`` parsing (``args``) and its file writing (``outputs``)."""

from .command import main

__all__ = ["main"]
