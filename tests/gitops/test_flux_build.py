"""The Flux controllers' pins (pure): hack/versions.sh, the wrapper modules and this Go agree.

hack/build-control-plane.sh builds each controller from hack/tools/flux-<name>/ and refuses to
build when the pin in versions.sh and the wrapper's require line differ; these checks say so
before a 10-minute build does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTROLLERS = ("source-controller", "kustomize-controller", "helm-controller")
#: The Go on this machine and in CI (GOTOOLCHAIN=local): a newer `go` line cannot build.
LOCAL_GO = (1, 26, 8)


def versions() -> dict[str, str]:
    text = (REPO / "hack/versions.sh").read_text()
    return dict(re.findall(r"^([A-Z0-9_]+)=(\S+)$", text, re.M))


def go_mod(name: str) -> str:
    return (REPO / "hack/tools" / f"flux-{name}" / "go.mod").read_text()


@pytest.mark.parametrize("name", CONTROLLERS)
def test_wrapper_requires_the_pinned_version(name: str) -> None:
    pin = versions()[f"FLUX_{name.split('-')[0].upper()}_CONTROLLER_VERSION"]
    assert re.search(rf"^\s*github\.com/fluxcd/{name} {re.escape(pin)}$", go_mod(name), re.M)


@pytest.mark.parametrize("name", CONTROLLERS)
def test_wrapper_builds_with_the_local_go_and_no_local_paths(name: str) -> None:
    mod = go_mod(name)
    (go,) = re.findall(r"^go (\S+)$", mod, re.M)
    assert tuple(int(p) for p in go.split(".")) <= LOCAL_GO, go
    assert not re.search(r"^toolchain ", mod, re.M)
    # A replace to a path (upstream's `=> ./api`) cannot resolve outside the upstream repo.
    assert not re.search(r"=>\s*\.", mod), "a replace to a local path"


def test_the_controllers_come_from_one_flux_release() -> None:
    """kustomize- and helm-controller read the source API that source-controller serves: their
    required source-controller/api is no newer (same minor) than the source-controller built."""
    source = versions()["FLUX_SOURCE_CONTROLLER_VERSION"]
    for name in ("kustomize-controller", "helm-controller"):
        (api,) = re.findall(r"github\.com/fluxcd/source-controller/api (v\S+)", go_mod(name))
        assert api.split(".")[:2] == source.split(".")[:2], (name, api, source)
        assert tuple(map(int, api[1:].split("."))) <= tuple(map(int, source[1:].split(".")))
