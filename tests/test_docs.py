"""The documentation builds without warnings, and its examples run.

Two checks, both part of the ordinary ``python -m pytest`` run (and so of CI):

1. ``sphinx-build -W --keep-going -b html docs <tmp>`` succeeds with no
   warning, and the API page documents every public name.
2. The examples of every page ``docs/*.md`` run, page by page, in order:

   * each ```` ```python ```` (or ```` ```py ````) block is executed; the
     blocks of one page share one namespace (later blocks use what earlier
     ones defined) and run in a fresh temporary working directory;
   * each ``empathy-cause ...`` line of a ```` ```bash ```` / ``sh`` /
     ``shell`` / ``console`` block is parsed with the command's own argument
     parser (so a renamed or missing option fails), and *run* through
     ``empathy_cause.cli.command.main`` when the block is marked
     ``<!-- docs-test: run -->``;
   * a block marked ``<!-- docs-test: skip (reason) -->`` is not executed
     (for data or models that only exist elsewhere). The marker is an HTML
     comment on the last non-blank line before the fence: invisible in the
     rendered page and on GitHub.

``docs/index.md`` tells readers the same rules.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import linecache
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))

PYTHON_LANGUAGES = {"python", "py"}
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<action>skip|run)\b.*-->\s*$")
FENCE_OPEN = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")

# Modules whose whole ``__all__`` the API page must document (a name that
# ``empathy_cause`` re-exports may be documented under ``empathy_cause``).
API_MODULES = [
    "empathy_cause",
    "empathy_cause.data",
    "empathy_cause.model_selection.splitters",
    "empathy_cause.metrics",
    "empathy_cause.prediction.visualize",
    "empathy_cause.baselines",
    "empathy_cause.baselines.prompting",
    "empathy_cause.baselines.prompts",
    "empathy_cause.baselines.scoring",
    "empathy_cause.baselines.qa",
    "empathy_cause.baselines.positional",
    "empathy_cause.analysis",
    "empathy_cause.encoders.encoding",
    "empathy_cause.encoders.pretrained",
    "empathy_cause.network.modules",
    "empathy_cause.network.losses",
    "empathy_cause.network._base",
    "empathy_cause.network.model_files",
    "empathy_cause.network.callbacks",
    "empathy_cause.network.selection",
    "empathy_cause.model_selection.unwrap",
    "empathy_cause.model_selection.tuning",
    "empathy_cause.prediction.distributed",
]


# --------------------------------------------------------------------------
# Reading the code blocks of a Markdown page
# --------------------------------------------------------------------------


@dataclass
class Block:
    language: str
    code: str
    line: int  # 1-based line of the block's first code line
    marker: str | None  # "skip", "run" or None


def code_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown page, with their docs-test markers."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = FENCE_OPEN.match(lines[i])
        if not match or (match["fence"][0] == "`" and "`" in match["info"]):
            i += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        info = match["info"].strip()
        close = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = i + 1
        while end < len(lines) and not close.match(lines[end]):
            end += 1
        # Code indented under a list item loses the fence's indentation.
        body = [line[indent:] if line[:indent].strip() == "" else line.lstrip()
                for line in lines[i + 1:end]]
        previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = MARKER.match(previous)
        blocks.append(Block(language=info.split()[0].lower() if info else "",
                            code="\n".join(body) + "\n", line=i + 2,
                            marker=marker["action"] if marker else None))
        i = end + 1
    return blocks


def shell_commands(code: str) -> list[list[str]]:
    """The ``empathy-cause`` command lines of a shell block, as argument lists."""
    commands, pending = [], ""
    for raw in code.splitlines():
        line = raw.strip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("$ "):
            line = line[2:]
        words = shlex.split(line, comments=True)
        if words and words[0] == "empathy-cause":
            commands.append(words[1:])
    return commands


def check_cli_arguments(argv: list[str]) -> None:
    """Parse an ``empathy-cause`` command line exactly as the command would, running nothing.

    ``empathy_cause.cli.command.main`` runs with its commands replaced by no-ops, and
    the delegation to ``empathy-cause benchmark`` / ``search`` replaced by the
    delegate's own argument parser.
    """
    from empathy_cause.cli import command as cli

    def command(args):
        return 0

    def delegate(module_name, rest):
        module = importlib.import_module(f"empathy_cause.benchmarks.{module_name}")
        module.build_parser().parse_args(rest)
        return 0

    commands = {name: command for name in vars(cli) if name.startswith("cmd_")}
    stderr = io.StringIO()
    try:
        with mock.patch.multiple(cli, _delegate=delegate, **commands), \
                contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            returncode = cli.main(argv)
    except SystemExit as exc:
        returncode = exc.code
    if returncode not in (0, None):
        raise AssertionError(f"empathy-cause {shlex.join(argv)}: {stderr.getvalue().strip()}")


# --------------------------------------------------------------------------
# The runner's own rules
# --------------------------------------------------------------------------


SAMPLE = """\
Text.

```python
a = 1
```

<!-- docs-test: skip (needs a file) -->

```python
open("missing.csv")
```

````markdown
```python
not python code
```
````

- In a list:

  ```bash
  empathy-cause evaluate --data demo \\
      --model my-model   # a comment
  ```
"""


def test_code_block_parser():
    blocks = code_blocks(SAMPLE)
    assert [(b.language, b.marker) for b in blocks] == [
        ("python", None), ("python", "skip"), ("markdown", None), ("bash", None)]
    assert blocks[0].code == "a = 1\n" and blocks[0].line == 4
    assert "not python code" in blocks[2].code
    assert shell_commands(blocks[3].code) == [["evaluate", "--data", "demo", "--model", "my-model"]]


def test_cli_check_catches_bad_options():
    check_cli_arguments(["evaluate", "--data", "demo", "--model", "m"])
    with pytest.raises(AssertionError, match="--no-such-option"):
        check_cli_arguments(["evaluate", "--data", "demo", "--model", "m", "--no-such-option"])


# --------------------------------------------------------------------------
# 1. The Sphinx build
# --------------------------------------------------------------------------


def test_layout_page_lists_every_module():
    """docs/layout.md has a line for every module of the package (so the next person finds their room)."""
    page = (DOCS / "layout.md").read_text(encoding="utf-8")
    package = REPO / "empathy_cause"
    listed = set(re.findall(r"`([\w/]+\.py)`", page))
    # A row may name siblings after the first with their bare file name (data/reccon.py, ...).
    for row in page.splitlines():
        names = re.findall(r"`([\w/]+\.py)`", row.split("|")[1] if row.startswith("|") else "")
        folder = next((n.rsplit("/", 1)[0] for n in names if "/" in n), None)
        listed |= {f"{folder}/{n}" for n in names if folder and "/" not in n}
    missing = [str(path.relative_to(package)) for path in sorted(package.rglob("*.py"))
               if str(path.relative_to(package)) not in listed]
    assert not missing, f"docs/layout.md has no line for {missing}: add one (what lives there, who may import it)"


def missing_docs_tools():
    """What the docs build needs and is not installed (the ``docs`` extra), or None."""
    missing = [name for name in ("sphinx", "myst_parser", "numpydoc") if importlib.util.find_spec(name) is None]
    return f"{', '.join(missing)} not installed (pip install -e '.[docs]')" if missing else None


def test_docs_build_skips_only_outside_ci(monkeypatch):
    """Without Sphinx the build is skipped on a laptop but fails in CI, which installs the docs extra."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sphinx" else real(name, *a))
    assert "sphinx not installed" in missing_docs_tools()
    for ci, outcome in (("", pytest.skip.Exception), ("true", pytest.fail.Exception)):
        monkeypatch.setenv("CI", ci)
        with pytest.raises(outcome, match="sphinx"):
            skip_or_fail_without_docs_tools()


def skip_or_fail_without_docs_tools():
    missing = missing_docs_tools()
    if missing and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the docs build needs {missing}; CI installs the docs extra")
    if missing:
        pytest.skip(f"the docs build needs {missing}")


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    """Build the HTML docs once with -W; return (output folder, warnings text)."""
    skip_or_fail_without_docs_tools()
    out = tmp_path_factory.mktemp("docs_html")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         str(DOCS), str(out)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    # Progress and encoder-loading bars go to stderr too; keep the messages.
    problems = "\n".join(line for line in result.stderr.splitlines()
                         if re.search(r"WARNING|ERROR|CRITICAL|Exception|Traceback", line))
    return out, result.returncode, problems or result.stderr[-3000:]


@pytest.mark.slow
def test_docs_build_without_warnings(html):
    out, returncode, problems = html
    assert returncode == 0 and "WARNING" not in problems, (
        "sphinx-build -W failed; fix these (see docs/index.md, 'Building the docs'):\n" + problems)
    assert (out / "index.html").is_file()


@pytest.mark.slow
def test_api_page_documents_every_public_name(html):
    out, returncode, _ = html
    if returncode != 0:
        pytest.skip("the build failed (see test_docs_build_without_warnings)")
    page = (out / "api.html").read_text(encoding="utf-8")
    documented = set(re.findall(r'<dt class="sig sig-object py" id="([^"]+)"', page))
    modules = {name: importlib.import_module(name) for name in API_MODULES}
    missing = []
    for module_name, module in modules.items():
        for name in module.__all__:
            obj = getattr(module, name)
            # Documented under any module that exports the same object is enough.
            targets = {f"{other_name}.{name}" for other_name, other in modules.items()
                       if name in other.__all__ and getattr(other, name) is obj}
            if not targets & documented:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"docs/api.rst does not document: {missing}"


# --------------------------------------------------------------------------
# 2. The examples
# --------------------------------------------------------------------------


@pytest.fixture
def restore_global_settings():
    """Undo the global settings an example may change (scikit-learn config, Optuna logging)."""
    import optuna
    import sklearn

    config = sklearn.get_config()
    verbosity = optuna.logging.get_verbosity()
    yield
    sklearn.set_config(**config)
    optuna.logging.set_verbosity(verbosity)
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
@pytest.mark.usefixtures("restore_global_settings")
def test_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    name = f"docs/{page.name}"
    namespace = {"__name__": "__main__"}
    ran = 0
    start = time.perf_counter()
    for block in code_blocks(page.read_text(encoding="utf-8")):
        where = f"{name}, line {block.line}"
        if block.marker == "skip":
            continue
        if block.language in PYTHON_LANGUAGES:
            filename = f"<{name}:{block.line}>"
            # Line numbers in tracebacks are the page's; so is the source shown.
            code = "\n" * (block.line - 1) + block.code
            linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
            try:
                exec(compile(code, filename, "exec"), namespace)
            except Exception as exc:
                raise AssertionError(
                    f"the Python example at {where} failed: {type(exc).__name__}: {exc}\n"
                    f"(mark it <!-- docs-test: skip (reason) --> only if it needs data or "
                    f"models that the test machine lacks)") from exc
            ran += 1
        elif block.language in SHELL_LANGUAGES:
            for argv in shell_commands(block.code):
                try:
                    check_cli_arguments(argv)
                except AssertionError as exc:
                    raise AssertionError(f"{where}: {exc}") from None
                if block.marker == "run":
                    from empathy_cause.cli.command import main

                    assert main(argv) == 0, f"{where}: empathy-cause {shlex.join(argv)} failed"
                ran += 1
    print(f"{name}: {ran} examples in {time.perf_counter() - start:.1f} s")
