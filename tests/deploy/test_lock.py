"""requirements/lock.txt is the one source of installed versions: every distribution
pinned with hashes, the development virtualenv holds exactly it, and it agrees with
what requirements/dev.in and every helpdesk pyproject.toml ask for."""

from __future__ import annotations

import runpy
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.manifests import REPO

pytestmark = pytest.mark.deploy

LOCK = REPO / "requirements" / "lock.txt"
DEV_IN = REPO / "requirements" / "dev.in"
LOCAL_IN = REPO / "requirements" / "local.in"
# The installer's own distributions, which the venv brings and `pip freeze` leaves out.
INSTALLER = {"pip", "setuptools", "wheel"}


def locked() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes) of every entry of the lock."""
    pins: dict[str, tuple[Version, int]] = {}
    name = ""
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            requirement, _, version = line.rstrip(" \\").partition("==")
            name = canonicalize_name(requirement)
            pins[name] = (Version(version), 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def local_pyprojects() -> list[Path]:
    lines = LOCAL_IN.read_text(encoding="utf-8").splitlines()
    return [
        REPO / line.removeprefix("-e ").strip() / "pyproject.toml"
        for line in lines
        if line.startswith("-e ")
    ]


def asked_for() -> list[tuple[str, Requirement]]:
    """(where, requirement) of every third-party requirement the project states."""
    wanted: list[tuple[str, Requirement]] = []
    for line in DEV_IN.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            wanted.append(("requirements/dev.in", Requirement(line)))
    for pyproject in local_pyprojects():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        for line in project.get("dependencies", []):
            requirement = Requirement(line)
            if not canonicalize_name(requirement.name).startswith("helpdesk-"):
                wanted.append((str(pyproject.relative_to(REPO)), requirement))
    return wanted


# The marker evaluation deploy/docker/lock.py walks the image's closure with.
_lock_py = runpy.run_path(str(REPO / "deploy" / "docker" / "lock.py"))
applies, closure = _lock_py["applies"], _lock_py["closure"]


def test_every_entry_is_pinned_with_hashes() -> None:
    pins = locked()
    assert len(pins) > 50
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_the_virtualenv_holds_exactly_the_lock() -> None:
    installed = {
        canonicalize_name(dist.metadata["Name"]): Version(dist.version)
        for dist in metadata.distributions()
    }
    third_party = {
        name: version
        for name, version in installed.items()
        if not name.startswith("helpdesk-") and name not in INSTALLER
    }
    expected = {name: version for name, (version, _) in locked().items()}
    assert third_party == expected, "the venv is not the lock: `make install` recreates it"


def test_the_lock_satisfies_what_dev_in_and_every_pyproject_ask_for() -> None:
    pins = locked()
    disagreements = []
    for where, requirement in asked_for():
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None or not requirement.specifier.contains(pin[0], prereleases=True):
            disagreements.append(f"{where}: {requirement} (lock: {pin and pin[0]})")
    assert disagreements == [], "run `make lock`"


def test_the_lock_is_exactly_the_closure_of_what_is_asked_for() -> None:
    """Nothing asked for is missing, and nothing is locked that nobody needs."""
    needed = closure(requirement for _, requirement in asked_for())
    assert set(locked()) == set(needed), "run `make lock`"
