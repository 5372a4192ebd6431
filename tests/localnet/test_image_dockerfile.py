"""The Dockerfile (the user's build) and hack/build-images.sh (the local build) make the same
image layout: both state the facts in subnetes.localnet.image, and this reads the Dockerfile to
check it says the same (venv path, user, workdir, env, entrypoint, Debian packages, lock file,
the sources the wheel is built from)."""

from __future__ import annotations

import fnmatch
import json
import shlex

import pytest

from subnetes.localnet import image

REPO = image.REPO_ROOT


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuations joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, also inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append((keyword.upper(), " ".join(args.split())))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def stages(instructions: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Instructions per stage, by stage name ('' for the unnamed final one, 'preamble' for
    what comes before the first FROM)."""
    result: dict[str, list[tuple[str, str]]] = {"preamble": []}
    current = "preamble"
    for keyword, args in instructions:
        if keyword == "FROM":
            parts = args.split()
            current = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else ""
            result[current] = [(keyword, args)]
        else:
            result[current].append((keyword, args))
    return result


@pytest.fixture(scope="module")
def dockerfile() -> dict[str, list[tuple[str, str]]]:
    return stages(parse_dockerfile((REPO / "Dockerfile").read_text()))


def _one(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [args for kw, args in stage if kw == keyword]
    assert len(found) == 1, f"expected one {keyword}, found {found}"
    return found[0]


def _runs(stage: list[tuple[str, str]]) -> str:
    return " && ".join(args for kw, args in stage if kw == "RUN")


def _command(run: str, program: str) -> list[str]:
    """The arguments of the first ``program`` command inside a RUN's && chain."""
    for part in run.split("&&"):
        words = shlex.split(part)
        if program in words:
            return words[words.index(program) + 1 :]
    raise AssertionError(f"no {program} in RUN: {run}")


def test_base_is_debian_bookworm_with_the_same_packages(dockerfile) -> None:
    arg = _one(dockerfile["preamble"], "ARG")
    assert arg == "BASE_IMAGE=debian:bookworm-slim"
    assert image.DEBIAN_SUITE in arg
    assert _one(dockerfile["base"], "FROM") == "${BASE_IMAGE} AS base"
    install = _command(_runs(dockerfile["base"]), "install")
    packages = [w for w in install if not w.startswith("-")]
    assert sorted(packages) == sorted(image.DEBIAN_PACKAGES)
    assert "--no-install-recommends" in install


def test_wheel_is_built_from_the_same_sources(dockerfile) -> None:
    copied: set[str] = set()
    for kw, args in dockerfile["build"]:
        if kw == "COPY":
            *sources, _dest = args.split()
            copied |= {s.rstrip("/") for s in sources}
    top_dirs = {d.split("/")[0] for d in image.package_dirs(REPO)}
    assert copied == set(image.WHEEL_SOURCE_FILES) | top_dirs, (
        "the Dockerfile's build stage must COPY pyproject's package folders"
    )


def test_runtime_uses_the_lock_file_and_venv(dockerfile) -> None:
    final = dockerfile[""]
    assert _one(final, "FROM") == "base"
    copies = [args.split() for kw, args in final if kw == "COPY"]
    assert [image.LOCK_FILE, image.CUDA_LOCK_FILE, "/tmp/locks/"] in copies
    run = _runs(final)
    assert f"else lock={image.LOCK_FILE}; fi" in run
    assert f"then lock={image.CUDA_LOCK_FILE};" in run
    assert _command(run, "venv") == [image.VENV]
    pip = _command(run, f"{image.VENV}/bin/pip")
    assert pip[0] == "install" and "--require-hashes" in pip
    assert pip[pip.index("-r") + 1] == "/tmp/locks/$lock"
    # The subnetes wheel goes in alone: every dependency came from the lock.
    assert f"{image.VENV}/bin/pip install" in run.split("--require-hashes", 1)[1]
    assert "--no-deps" in run.split("--require-hashes", 1)[1]


def test_user_workdir_env_and_entrypoint_match(dockerfile) -> None:
    final = dockerfile[""]
    run = _runs(final)
    assert _command(run, "groupadd") == ["--gid", str(image.GID), image.USER_NAME]
    useradd = _command(run, "useradd")
    assert useradd[-1] == image.USER_NAME
    assert "--no-create-home" in useradd
    useradd = [w for w in useradd if w != "--no-create-home"][:-1]
    flags = dict(zip(useradd[::2], useradd[1::2], strict=True))
    assert flags == {
        "--uid": str(image.UID),
        "--gid": str(image.GID),
        "--home-dir": image.HOME,
        "--shell": image.SHELL,
    }
    # What that useradd writes is what the local build writes into /etc/passwd.
    assert image.passwd_line() == (
        f"{image.USER_NAME}:x:{image.UID}:{image.GID}::{image.HOME}:{image.SHELL}"
    )
    assert _command(run, "mkdir") == ["-p", image.WORKDIR]
    assert _command(run, "chown") == [f"{image.UID}:{image.GID}", image.WORKDIR]

    env = dict(word.split("=", 1) for word in shlex.split(_one(final, "ENV")))
    assert env == image.ENV
    config = image.product_runtime_config()
    assert _one(final, "WORKDIR") == config["WorkingDir"] == image.WORKDIR
    assert _one(final, "USER") == config["User"]
    assert json.loads(_one(final, "ENTRYPOINT")) == config["Entrypoint"]
    assert json.loads(_one(final, "CMD")) == config["Cmd"]
    assert {int(p) for p in _one(final, "EXPOSE").split()} == set(image.EXPOSED_PORTS)
    assert set(config["ExposedPorts"]) == {f"{p}/tcp" for p in image.EXPOSED_PORTS}


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics, enough for this file: a pattern excludes a path or a parent."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
    return False


def test_dockerignore_keeps_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not any(p.startswith("!") for p in patterns), "this check knows no exceptions"
    needed = [*image.wheel_sources(REPO), image.LOCK_FILE, image.CUDA_LOCK_FILE]
    dropped = [path for path in needed if _ignored(path, patterns)]
    assert not dropped, f".dockerignore leaves out files the build needs: {dropped}"
    for litter in (".venv/x", "chain/__pycache__/a.pyc", "tests/x.py", "a/b.db"):
        assert _ignored(litter, patterns), litter


def test_parser_handles_continuations_and_comments() -> None:
    parsed = parse_dockerfile("FROM a AS b\n# c\nRUN x \\\n # inner\n  && y\nENV A=1 \\\n B=2\n")
    assert parsed == [("FROM", "a AS b"), ("RUN", "x && y"), ("ENV", "A=1 B=2")]
    assert stages(parsed)["b"][1] == ("RUN", "x && y")
