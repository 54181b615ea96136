"""RECCON-DD (emotion causes in DailyDialog) as empathy-cause pairs.

RECCON (Poria et al., 2021) annotates, for each emotional utterance of a
DailyDialog conversation, which earlier utterances caused the emotion. It has
the shape of the empathy-cause task: the conversation up to and including the
emotional utterance is the "post" (one utterance per "sentence"), the
emotional utterance is the "reply", and a post unit is a cause when its turn
is in the utterance's ``expanded emotion cause evidence``.
"""

import json
import os
import tempfile
import urllib.request

from .files import errors_name, get_data_home, resolve_data_file
from .frame import THREAD_ID
from .pairs import _pairs_to_frame

__all__ = ["load_reccon", "fetch_reccon"]

SUBSETS = ("train", "valid", "test")
RECCON_URL = (
    "https://raw.githubusercontent.com/declare-lab/RECCON/main/data/"
    "original_annotation/dailydialog_{subset}.json"
)
_EVIDENCE = "expanded emotion cause evidence"


def _file_name(subset):
    if subset not in SUBSETS:
        raise ValueError(
            f"subset must be one of {SUBSETS}, got {subset!r}."
        )
    return f"dailydialog_{subset}.json"


def _check_shape(dialogues, file):
    """Refuse a JSON document that is not RECCON's shape, naming the file and the dialogue."""
    def fail(where, what):
        raise ValueError(f"{file}: {where}: {what} (not a RECCON original-annotation file)")

    if not isinstance(dialogues, dict):
        fail("top level", f"expected an object of dialogues, got {type(dialogues).__name__}")
    for dialogue_id, content in dialogues.items():
        where = f"dialogue {dialogue_id!r}"
        if not (isinstance(content, list) and content and isinstance(content[0], list)):
            fail(where, "expected a list holding one list of utterances")
        for t, utterance in enumerate(content[0], start=1):
            if not isinstance(utterance, dict):
                fail(f"{where}, turn {t}", f"expected an utterance object, got {type(utterance).__name__}")
            if not isinstance(utterance.get("utterance"), str):
                fail(f"{where}, turn {t}", "the 'utterance' text is missing or not a string")
            evidence = utterance.get(_EVIDENCE)
            if evidence is not None and not isinstance(evidence, list):
                fail(f"{where}, turn {t}", f"'{_EVIDENCE}' must be a list")


def _reccon_pairs(dialogues):
    """Yield one pair dict per emotional utterance of the RECCON dialogues (shape already checked)."""
    for dialogue_id, content in dialogues.items():
        # Each dialogue is a list holding one list of utterance dicts.
        utterances = content[0]
        texts = [u["utterance"] for u in utterances]
        speakers = tuple(u.get("speaker") for u in utterances)
        for t, utterance in enumerate(utterances, start=1):
            evidence = utterance.get(_EVIDENCE)
            if evidence is None:  # not an emotional utterance
                continue
            # Non-integer evidence ("b") means a cause outside the dialogue;
            # evidence after turn t cannot be a candidate.
            causes = {e for e in evidence
                      if isinstance(e, int) and not isinstance(e, bool)}
            yield {
                "post": texts[:t],
                "reply": utterance["utterance"],
                "labels": [int(k in causes) for k in range(1, t + 1)],
                "pair_id": f"{dialogue_id}_t{t}",
                "thread_id": dialogue_id,
                "emotion": utterance.get("emotion"),
                "speaker": utterance.get("speaker"),
                "speakers": speakers[:t],
            }


def load_reccon(path, subset="train"):
    """Load a RECCON-DD original-annotation file as sentence rows.

    For each dialogue and each utterance at turn ``t`` that has an
    ``expanded emotion cause evidence`` list, one pair is made: the post is
    the utterance texts of turns 1..t (each utterance is one post
    "sentence", not split further), the reply is utterance t's text, and a
    post unit is labelled 1 when its turn is in the evidence list.

    Parameters
    ----------
    path : str or path-like
        A folder holding ``dailydialog_{subset}.json``, or the JSON file.
    subset : {"train", "valid", "test"}, default "train"
        Which file to read when ``path`` is a folder.

    Returns
    -------
    X : pandas.DataFrame
        The sentence-row frame with ``pair_id`` (``"{dialogue id}_t{t}"``),
        ``thread_id`` (the dialogue id) and, as metadata, the reply's
        ``emotion`` and ``speaker`` and ``speakers``: the speaker of each
        post utterance, a tuple parallel to ``post`` (its last entry is
        ``speaker``).
    y : numpy.ndarray of int64
        1 where the candidate utterance is a cause.
    groups : numpy.ndarray
        The thread (dialogue) id of each row, for group-aware splitting.

    Raises
    ------
    FileNotFoundError
        When the file does not exist; the message lists the folder's files.
    ValueError
        Naming the file: not UTF-8, not JSON (with the line), or not RECCON's
        shape (with the dialogue and turn).

    Notes
    -----
    The train file gives 4,562 pairs, 27,673 rows and 7,027 causes; the
    valid file 200 pairs, 1,166 rows and 328 causes.
    """
    file = resolve_data_file(path, _file_name(subset), "RECCON")
    try:
        dialogues = json.loads(file.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{file}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise ValueError(f"{file}: JSON nested too deeply") from None
    _check_shape(dialogues, file)
    with errors_name(file):
        X, y = _pairs_to_frame(
            _reccon_pairs(dialogues), post="post", reply="reply",
            labels="labels", pair_id="pair_id", thread_id="thread_id",
            where=lambda i: f"{file}: emotional utterance {i}",
        )
    return X, y, X[THREAD_ID].to_numpy()


def _download(url, target):
    """Download ``url`` to ``target`` atomically (temp file, then rename)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            data = response.read()
        json.loads(data)  # do not store an error page as the dataset
    except (OSError, ValueError) as exc:
        raise OSError(
            f"could not download {url} ({exc}). Without network access, "
            f"download the file elsewhere and place it at {target}."
        ) from exc
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def fetch_reccon(data_home=None, subset="train", download_if_missing=True):
    """Load RECCON-DD, downloading the annotation file if needed.

    The file ``dailydialog_{subset}.json`` of the ``declare-lab/RECCON``
    repository (``data/original_annotation/``) is kept under
    ``<data_home>/reccon/``. This is the only function of the library that
    touches the network, and only when the file is not there yet.

    Parameters
    ----------
    data_home : str or path-like, optional
        Where datasets are stored; defaults to the environment variable
        ``EMPATHY_CAUSE_DATA``, else ``~/empathy_cause_data``.
    subset : {"train", "valid", "test"}, default "train"
        Which split to load.
    download_if_missing : bool, default True
        When False and the file is absent, raise instead of downloading.

    Returns
    -------
    X, y, groups
        As :func:`load_reccon`.

    Raises
    ------
    OSError
        When the file is absent and cannot be (or may not be) downloaded;
        the message says where to place it by hand.

    Notes
    -----
    RECCON is built on DailyDialog, licensed CC BY-NC-SA 4.0.
    """
    name = _file_name(subset)
    folder = get_data_home(data_home) / "reccon"
    target = folder / name
    if not target.is_file():
        url = RECCON_URL.format(subset=subset)
        if not download_if_missing:
            raise OSError(
                f"{target} not found and download_if_missing=False. "
                f"Download {url} and place it there, or call fetch_reccon "
                "with download_if_missing=True."
            )
        folder.mkdir(parents=True, exist_ok=True)
        _download(url, target)
    return load_reccon(target)
