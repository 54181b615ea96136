"""The package's metadata is declared once (setup.cfg) and names every extra the install commands use."""

import configparser
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _setup_cfg():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg", encoding="utf-8")
    return config


def test_metadata_in_setup_cfg_only():
    tables = re.findall(r"^\[([^\]]+)\]", (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert "build-system" in tables
    misplaced = [t for t in tables if t.startswith(("project", "tool.setuptools"))]
    assert not misplaced, f"pyproject.toml keeps build and tools only; {misplaced} belong in setup.cfg"
    config = _setup_cfg()
    assert config["metadata"]["name"] == "empathy_cause"
    assert config["metadata"]["version"] == "attr: empathy_cause.__version__"
    assert "empathy-cause = empathy_cause.cli:main" in config["options.entry_points"]["console_scripts"]


def test_install_commands_name_existing_extras():
    """README's and CI's `pip install -e ".[...]"` extras are all declared."""
    extras = set(_setup_cfg()["options.extras_require"])
    used = set()
    for text in ((REPO / "README.md").read_text(encoding="utf-8"), (REPO / ".ci" / "run").read_text()):
        for group in re.findall(r'pip install[^\n`]*?\.\[([a-z,]+)\]', text):
            used |= set(group.split(","))
    assert used and used <= extras, f"unknown extras {sorted(used - extras)}"
