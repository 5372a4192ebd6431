"""The image lock files pin every runtime dependency of pyproject.toml (drift fails here:
run `bash hack/lock-deps.sh` after changing the dependencies)."""

from __future__ import annotations

import tomllib

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

from subnetes.localnet import image

REPO = image.REPO_ROOT
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# The image's interpreter and platform: Debian bookworm's CPython 3.11 on linux x86_64.
IMAGE_ENV = {
    **default_environment(),
    "python_version": "3.11",
    "python_full_version": "3.11.2",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
}
FIX = "run `bash hack/lock-deps.sh` and commit requirements*.lock"


def _unpinned(requirements: list[str], lock: dict[str, dict]) -> list[str]:
    problems = []
    for text in requirements:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({**IMAGE_ENV, "extra": ""}):
            continue
        pin = lock.get(image.canonical_name(req.name))
        if pin is None:
            problems.append(f"{text}: not in the lock")
        elif not req.specifier.contains(pin["version"], prereleases=True):
            problems.append(f"{text}: locked at {pin['version']}")
        elif not set(req.extras) <= set(pin["extras"]):
            problems.append(f"{text}: locked without extras {sorted(req.extras)}")
    return problems


@pytest.fixture(scope="module")
def cpu_lock() -> dict[str, dict]:
    return image.read_lock(REPO / image.LOCK_FILE)


@pytest.fixture(scope="module")
def cuda_lock() -> dict[str, dict]:
    return image.read_lock(REPO / image.CUDA_LOCK_FILE)


def test_every_runtime_dependency_is_pinned_in_the_lock(cpu_lock: dict[str, dict]) -> None:
    problems = _unpinned(PYPROJECT["dependencies"], cpu_lock)
    assert not problems, f"{FIX}:\n" + "\n".join(problems)


def test_the_cuda_lock_pins_the_gpu_extra_and_agrees_with_the_cpu_lock(
    cpu_lock: dict[str, dict], cuda_lock: dict[str, dict]
) -> None:
    problems = _unpinned(
        PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["gpu"], cuda_lock
    )
    assert not problems, f"{FIX}:\n" + "\n".join(problems)
    differ = {
        name: (pin["version"], cuda_lock.get(name, {}).get("version"))
        for name, pin in cpu_lock.items()
        if cuda_lock.get(name, {}).get("version") != pin["version"]
    }
    assert not differ, f"the CUDA image would run other versions: {differ}; {FIX}"


def test_test_extras_stay_out_of_the_image(cpu_lock: dict[str, dict]) -> None:
    test_only = {
        image.canonical_name(Requirement(r).name)
        for r in PYPROJECT["optional-dependencies"]["test"]
    }
    runtime = {image.canonical_name(Requirement(r).name) for r in PYPROJECT["dependencies"]}
    assert not (test_only - runtime) & set(cpu_lock), "test extras leaked into the lock"


@pytest.mark.parametrize("lock_file", [image.LOCK_FILE, image.CUDA_LOCK_FILE])
def test_every_pin_is_exact_and_hashed(lock_file: str) -> None:
    path = REPO / lock_file
    assert "bash hack/lock-deps.sh" in path.read_text().split("\n", 3)[1], (
        f"{lock_file} was not made by hack/lock-deps.sh"
    )
    pins = image.read_lock(path)
    assert len(pins) > 20
    for name, pin in pins.items():
        assert pin["hashes"], f"{lock_file}: {name} has no --hash (pip's hash checking needs one)"
        assert all(h.startswith("sha256:") and len(h) == 71 for h in pin["hashes"]), name
    # Every non-comment line belongs to a pin: no loose `name>=x` line that pip would resolve.
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "--hash=")):
            assert "==" in stripped, f"{lock_file}: not an exact pin: {line!r}"


def test_drift_is_reported() -> None:
    lock = {"numpy": {"version": "1.25.0", "extras": [], "hashes": ["sha256:" + "0" * 64]}}
    assert _unpinned(["numpy>=1.26", "newdep>=1", "psycopg[binary]>=3"], lock) == [
        "numpy>=1.26: locked at 1.25.0",
        "newdep>=1: not in the lock",
        "psycopg[binary]>=3: not in the lock",
    ]
    assert _unpinned(['winonly>=1; sys_platform == "win32"'], lock) == []
