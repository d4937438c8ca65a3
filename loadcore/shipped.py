"""Where the shipped proxy profiles and sample trace live, in a checkout and when installed.

`pyproject.toml` maps the top-level `profiles/` and `trace/` folders into the wheel as
`loadcore/_data/profiles` and `loadcore/_data/trace`, so `pip install .` carries them; in a
source checkout (and an editable install) they are the top-level folders themselves.
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    installed = _PACKAGE / "_data" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


def profiles_dir() -> Path:
    """Folder with `profile.json`, `config.json` and the proxy manifests."""
    return _shipped("profiles")


def trace_dir() -> Path:
    """Folder with the 250-function sample trace (`invocations.csv`, `durations.csv`, `memory.csv`)."""
    return _shipped("trace")


def default_profile() -> Path:
    return profiles_dir() / "profile.json"


def default_config() -> Path:
    return profiles_dir() / "config.json"
