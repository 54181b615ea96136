"""Where datasets live: the data home, locating a dataset file given a folder or the file, naming it in errors."""

import contextlib
import os
from pathlib import Path

__all__ = ["get_data_home", "resolve_data_file", "errors_name"]


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
        ``EMPATHY_CAUSE_DATA``, else ``~/empathy_cause_data``.

    Returns
    -------
    pathlib.Path
    """
    if data_home is None:
        data_home = os.environ.get("EMPATHY_CAUSE_DATA",
                                   Path("~") / "empathy_cause_data")
    data_home = Path(data_home).expanduser()
    data_home.mkdir(parents=True, exist_ok=True)
    return data_home
