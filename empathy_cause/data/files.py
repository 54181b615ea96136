"""Where datasets live: the data home, locating a dataset file given a folder or the file, naming it in errors."""

import contextlib
import os
from pathlib import Path

__all__ = ["get_data_home", "resolve_data_file", "errors_name", "not_utf8"]

# Byte-order marks of the encodings a file saved as "Unicode" on Windows usually has.
_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
         (b"\xfe\xff", "UTF-16"))


def not_utf8(where, head: bytes, byte: int) -> ValueError:
    """The loaders' error for text that is not UTF-8: it names UTF-16/32 (by its byte-order mark) and the fix.

    ``head`` is the first bytes of the file (empty when not known), ``byte`` the first byte that is not UTF-8.
    """
    kind = next((name for bom, name in _BOMS if head.startswith(bom)), None)
    if kind is None and len(head) >= 2 and (head[0] == 0) != (head[1] == 0):
        kind = "UTF-16"   # ASCII text two bytes a character, without a byte-order mark
    if kind is not None:
        return ValueError(f"{where}: the file is {kind} text, not UTF-8; save it as UTF-8 (e.g. "
                          f"iconv -f {kind} -t UTF-8 FILE > NEW_FILE, or UTF-8 in the editor's save dialog)")
    return ValueError(f"{where}: not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8")


@contextlib.contextmanager
def errors_name(name):
    """Prefix a ``ValueError`` / ``TypeError`` raised inside with ``"{name}: "``, unless it names it already.

    The loaders wrap their frame building in it, so a bad record's message
    says which file it came from (one-line errors, no chained traceback).
    """
    try:
        yield
    except (ValueError, TypeError) as exc:
        if str(name) in str(exc):
            raise
        raise type(exc)(f"{name}: {exc}") from None


def resolve_data_file(path, file_name, dataset):
    """Return the file ``file_name`` in the folder ``path``, or ``path`` itself.

    Parameters
    ----------
    path : str or path-like
        A folder holding ``file_name``, or the file.
    file_name : str
        The file to look for when ``path`` is a folder.
    dataset : str
        The dataset's name, for the error message.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        When the file does not exist; the message lists the folder's files,
        or says that the folder does not exist.
    """
    path = Path(path)
    file = path / file_name if path.is_dir() else path
    if not file.is_file():
        folder = file.parent
        held = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else None
        raise FileNotFoundError(
            f"{dataset} file {str(file)!r} not found; "
            + (f"the folder holds {held}." if held is not None
               else f"the folder {str(folder)!r} does not exist.")
        )
    return file


def get_data_home(data_home=None):
    """Return the folder where datasets are stored, creating it if needed.

    Parameters
    ----------
    data_home : str or path-like, optional
        The folder. Defaults to the environment variable
        ``EMPATHY_CAUSE_DATA`` (when set and not empty), else ``~/empathy_cause_data``.

    Returns
    -------
    pathlib.Path
    """
    if data_home is None:
        # An empty EMPATHY_CAUSE_DATA is unset (as for most variables), not the current folder.
        data_home = os.environ.get("EMPATHY_CAUSE_DATA") or Path("~") / "empathy_cause_data"
    data_home = Path(data_home).expanduser()
    data_home.mkdir(parents=True, exist_ok=True)
    return data_home
