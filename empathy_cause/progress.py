"""The training log: skorch's epoch table, complete and without colour codes off a terminal.

skorch puts :class:`~skorch.callbacks.PrintLog` after every other callback,
and :class:`~skorch.callbacks.EarlyStopping` ends training by raising
``KeyboardInterrupt`` in its ``on_epoch_end``, so the epoch that triggered the
stop never reached the table (it showed one epoch fewer than ``history_``).
:class:`EarlyStopping` here prints that row before its own stop message.
:class:`PrintLog` leaves out skorch's ANSI colours when standard output is
not a terminal (a redirected file, a CI log).
"""

from __future__ import annotations

import re
import sys

from skorch.callbacks import EarlyStopping as _SkorchEarlyStopping
from skorch.callbacks import PrintLog as _SkorchPrintLog

__all__ = ["PrintLog", "EarlyStopping", "progress_wanted"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _colours_wanted() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


class PrintLog(_SkorchPrintLog):
    """skorch's ``PrintLog``; best values are coloured only when standard output is a terminal."""

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        return text if not isinstance(text, str) or _colours_wanted() else _ANSI.sub("", text)


class EarlyStopping(_SkorchEarlyStopping):
    """skorch's ``EarlyStopping``; the stopping epoch's row is printed before training ends."""

    def on_epoch_end(self, net, **kwargs):
        messages, sink = [], self.sink
        self.sink = messages.append  # hold the stop message until the epoch's row is out
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            for _, callback in getattr(net, "callbacks_", []):
                if isinstance(callback, _SkorchPrintLog):
                    callback.on_epoch_end(net, **kwargs)
            raise
        finally:
            self.sink = sink
            for message in messages:
                if sink is not print or net.verbose:
                    sink(message)


def progress_wanted(verbose=True) -> bool:
    """Whether to draw a progress bar: asked for, and standard error is a terminal.

    Off a terminal (stderr redirected to a file, a CI log) a bar is not
    redrawn in place but written line after line, dozens of ``0%| | 0/1``
    lines that say nothing; the epoch table on standard output remains.
    """
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(verbose) and bool(isatty and isatty())
