"""The OCI layout writer (subnetes.localnet.oci) and the image build's pure parts: layer tars
(contents, owners, modes, links, skipped folders), digests, the manifest, config and index,
determinism, and the wheel installer that makes the app layer."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from subnetes.localnet import image, oci


def _sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small root filesystem: dirs, files with modes, a symlink, a hard link, a FIFO, /dev."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc" / "shadow").write_text("secret\n")
    (root / "etc" / "shadow").chmod(0o640)
    (root / "usr" / "bin").mkdir(parents=True)
    tool = root / "usr" / "bin" / "tool"
    tool.write_bytes(b"#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    os.link(tool, root / "usr" / "bin" / "tool-again")
    (root / "bin").symlink_to("usr/bin")
    (root / "dev").mkdir()
    (root / "dev" / "placeholder").write_text("runtime mounts over this")
    os.mkfifo(root / "fifo")
    (root / "tmp").mkdir()
    (root / "tmp").chmod(0o1777)
    for path in [root, *root.rglob("*")]:
        os.utime(path, (1_700_000_000.75, 1_700_000_000.75), follow_symlinks=False)
    return root


def _members(tar_path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(tar_path) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_layer_tar_keeps_modes_links_and_owners_and_leaves_out_special_files(
    tree: Path, tmp_path: Path
) -> None:
    out = tmp_path / "layer.tar"
    diff_id, size = oci.write_layer_tar(tree, out, skip_contents=["/dev"])
    assert diff_id == _sha(out.read_bytes()) and size == out.stat().st_size
    members = _members(out)
    # Sorted, parents first, no "./" prefix; /dev kept but empty; the FIFO left out.
    assert list(members) == [
        "bin",
        "dev",
        "etc",
        "etc/passwd",
        "etc/shadow",
        "tmp",
        "usr",
        "usr/bin",
        "usr/bin/tool",
        "usr/bin/tool-again",
    ]
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert members["usr/bin/tool"].isfile() and members["usr/bin/tool"].mode == 0o755
    assert members["usr/bin/tool-again"].islnk()
    assert members["usr/bin/tool-again"].linkname == "usr/bin/tool"
    assert members["etc/shadow"].mode == 0o640
    assert members["tmp"].mode == 0o1777
    assert members["etc/passwd"].mtime == 1_700_000_000  # integer seconds, no PAX mtime
    for m in members.values():
        assert (m.uid, m.gid) == (os.getuid(), os.getgid())
        assert m.uname == "" and m.gname == ""  # names come from the image's /etc/passwd


def test_layer_tar_owner_and_mtime_override_make_it_reproducible(
    tree: Path, tmp_path: Path
) -> None:
    first = oci.write_layer_tar(tree, tmp_path / "a.tar", mtime=42, owner=(0, 0))
    os.utime(tree / "etc" / "passwd", (1, 1))  # a touched file does not change the layer
    second = oci.write_layer_tar(tree, tmp_path / "b.tar", mtime=42, owner=(0, 0))
    assert first == second
    for m in _members(tmp_path / "a.tar").values():
        assert (m.uid, m.gid, m.mtime) == (0, 0, 42)


@pytest.mark.parametrize("level", [None, 1])
def test_make_layer_names_the_blob_by_its_digest(
    tree: Path, tmp_path: Path, level: int | None
) -> None:
    tar = tmp_path / "layer.tar"
    diff_id, _ = oci.write_layer_tar(tree, tar, owner=(0, 0), mtime=0)
    raw = tar.read_bytes()
    layer = oci.make_layer(tar, tmp_path / "blobs", gzip_level=level, created_by="test")
    blob = layer.path.read_bytes()
    assert layer.path.name == layer.digest.split(":")[1]
    assert layer.digest == _sha(blob) and layer.size == len(blob)
    assert layer.diff_id == diff_id == _sha(raw)
    if level is None:
        assert layer.media_type == oci.MEDIA_LAYER and blob == raw
    else:
        assert layer.media_type == oci.MEDIA_LAYER_GZIP and gzip.decompress(blob) == raw
    assert not tar.exists()  # moved or compressed into the blob store
    assert oci.Layer.from_json(json.loads(json.dumps(layer.to_json()))) == layer


def test_gzip_layers_are_reproducible(tree: Path, tmp_path: Path) -> None:
    digests = set()
    for name in ("a", "b"):
        tar = tmp_path / f"{name}.tar"
        oci.write_layer_tar(tree, tar, owner=(0, 0), mtime=0)
        digests.add(oci.make_layer(tar, tmp_path / f"blobs-{name}", gzip_level=1).digest)
    assert len(digests) == 1


def _two_layers(tree: Path, tmp_path: Path) -> list[oci.Layer]:
    layers = []
    for i, level in enumerate((1, None)):
        tar = tmp_path / f"l{i}.tar"
        (tree / "etc" / "layer").write_text(str(i))
        oci.write_layer_tar(tree, tar, owner=(0, 0), mtime=0)
        layers.append(oci.make_layer(tar, tmp_path / "blobs", gzip_level=level, created_by=f"L{i}"))
    return layers


def test_archive_index_manifest_config_and_blobs_agree(tree: Path, tmp_path: Path) -> None:
    layers = _two_layers(tree, tmp_path)
    config = oci.image_config(
        layers, config={"User": "1:1", "Env": ["A=b"], "Entrypoint": ["x"], "Labels": {}}
    )
    out = tmp_path / "img.oci.tar"
    digest = oci.write_oci_archive(out, name="localhost/subnetes:dev", layers=layers, config=config)

    with tarfile.open(out) as tar:
        names = tar.getnames()
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert names[:3] == ["oci-layout", "blobs", "blobs/sha256"] and names[-1] == "index.json"
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert _sha(data) == "sha256:" + name.rsplit("/", 1)[1]

    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2 and index["mediaType"] == oci.MEDIA_INDEX
    (entry,) = index["manifests"]
    manifest_bytes = files[f"blobs/sha256/{digest.split(':')[1]}"]
    assert entry["digest"] == digest == _sha(manifest_bytes)
    assert entry["size"] == len(manifest_bytes)
    assert entry["mediaType"] == oci.MEDIA_MANIFEST
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}
    # containerd names the image from io.containerd.image.name; OCI tools read the tag.
    assert entry["annotations"] == {
        "io.containerd.image.name": "localhost/subnetes:dev",
        "org.opencontainers.image.ref.name": "dev",
    }

    manifest = json.loads(manifest_bytes)
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == oci.MEDIA_MANIFEST
    config_bytes = files[f"blobs/sha256/{manifest['config']['digest'].split(':')[1]}"]
    assert manifest["config"] == {
        "mediaType": oci.MEDIA_CONFIG,
        "digest": _sha(config_bytes),
        "size": len(config_bytes),
    }
    assert manifest["layers"] == [
        {"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}
        for layer in layers
    ]
    assert [m["mediaType"] for m in manifest["layers"]] == [
        oci.MEDIA_LAYER_GZIP,
        oci.MEDIA_LAYER,
    ]

    cfg = json.loads(config_bytes)
    assert cfg["rootfs"] == {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]}
    assert [h["created_by"] for h in cfg["history"]] == ["L0", "L1"]
    assert cfg["config"] == {"User": "1:1", "Env": ["A=b"], "Entrypoint": ["x"]}  # {} dropped
    assert (cfg["os"], cfg["architecture"]) == ("linux", "amd64")

    # The reader checks every digest and gives back the layers' contents.
    back = oci.read_oci_archive(out)
    assert [layer["diff_id"] for layer in back["layers"]] == cfg["rootfs"]["diff_ids"]
    assert back["layers"][1]["contents"]["etc/layer"] == b"1"


def test_archive_is_byte_for_byte_reproducible(tree: Path, tmp_path: Path) -> None:
    layers = _two_layers(tree, tmp_path)
    config = oci.image_config(layers, config={"Entrypoint": ["/pause"]})
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    assert oci.write_oci_archive(a, name="x/y:1", layers=layers, config=config) == (
        oci.write_oci_archive(b, name="x/y:1", layers=layers, config=config)
    )
    assert a.read_bytes() == b.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))


def test_reader_rejects_a_blob_that_does_not_match_its_digest(tree: Path, tmp_path: Path) -> None:
    layers = _two_layers(tree, tmp_path)
    out = tmp_path / "img.tar"
    oci.write_oci_archive(
        out, name="x:1", layers=layers, config=oci.image_config(layers, config={})
    )
    bad = tmp_path / "bad.tar"
    with tarfile.open(out) as src, tarfile.open(bad, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None
            if m.name == f"blobs/sha256/{layers[1].digest.split(':')[1]}":
                data = data[:-1] + bytes([data[-1] ^ 1])
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
    with pytest.raises(ValueError, match="does not match"):
        oci.read_oci_archive(bad)


@pytest.mark.parametrize(
    ("name", "repo", "tag"),
    [
        ("localhost/subnetes:dev", "localhost/subnetes", "dev"),
        ("localhost/subnetes/pause:3.10", "localhost/subnetes/pause", "3.10"),
        ("localhost:5000/subnetes", "localhost:5000/subnetes", "latest"),
        ("subnetes", "subnetes", "latest"),
    ],
)
def test_split_reference(name: str, repo: str, tag: str) -> None:
    assert oci.split_reference(name) == (repo, tag)


# ---- the image build's pure parts ---------------------------------------------------------------
def test_product_config_states_the_shared_facts() -> None:
    config = image.product_runtime_config()
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["subnetes"] and config["Cmd"] == ["--help"]
    assert config["WorkingDir"] == "/data"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PATH"].split(":")[0] == "/opt/subnetes/bin"
    assert env["PYTHONUNBUFFERED"] == "1" and env["SUBNETES_JAX_CACHE"] == "/tmp/jax-cache"
    assert image.passwd_line() == "subnetes:x:10001:10001::/nonexistent:/usr/sbin/nologin"
    assert image.group_line() == "subnetes:x:10001:"
    assert image.pause_runtime_config()["Entrypoint"] == ["/pause"]


def test_mmdebstrap_command_builds_bookworm_with_the_package_list(tmp_path: Path) -> None:
    args = image.mmdebstrap_args(tmp_path / "rootfs")
    assert args[0] == "mmdebstrap" and "--mode=root" in args
    assert f"--include={','.join(image.DEBIAN_PACKAGES)}" in args
    assert args[-3:] == ["bookworm", str(tmp_path / "rootfs"), "http://deb.debian.org/debian"]
    assert {"python3", "python3-venv"} <= set(image.DEBIAN_PACKAGES)


def test_read_lock_parses_pins_extras_and_hashes(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "# header\n"
        "psycopg[binary]==3.3.9 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n"
        "    # via subnetes (pyproject.toml)\n"
        "Typing_Extensions==4.16.0 \\\n    --hash=sha256:cc\n"
    )
    assert image.read_lock(lock) == {
        "psycopg": {"version": "3.3.9", "extras": ["binary"], "hashes": ["sha256:aa", "sha256:bb"]},
        "typing-extensions": {"version": "4.16.0", "extras": [], "hashes": ["sha256:cc"]},
    }


def test_wheel_sources_skip_build_litter(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg" / "__pycache__").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\n"x" = "pkg"\n"x.sub" = "pkg/sub"\n'
    )
    (repo / "README.md").write_text("r")
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"")
    (repo / "pkg" / "state.db").write_text("")
    (repo / "pkg" / "state.db-wal").write_text("")
    (repo / "pkg" / "page.html").write_text("")
    assert image.package_dirs(repo) == ["pkg", "pkg/sub"]
    assert image.wheel_sources(repo) == [
        "pyproject.toml",
        "README.md",
        "pkg/__init__.py",
        "pkg/page.html",
    ]
    before = image.app_key(repo)
    (repo / "pkg" / "state.db").write_text("changed")  # litter does not rebuild the layer
    assert image.app_key(repo) == before
    (repo / "pkg" / "__init__.py").write_text("x = 1")
    assert image.app_key(repo) != before


def _wheel(path: Path) -> Path:
    """A tiny pure-Python wheel with a console script."""
    dist = "demo-1.0.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("demo/__init__.py", "def main():\n    return 0\n")
        zf.writestr("demo/data.txt", "data")
        zf.writestr(f"{dist}/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
        zf.writestr(
            f"{dist}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{dist}/entry_points.txt", "[console_scripts]\ndemo = demo:main\n")
        zf.writestr(f"{dist}/RECORD", "")
    return path


def test_install_wheel_lays_out_the_venv_as_pip_does(tmp_path: Path) -> None:
    root = tmp_path / "root"
    paths = image.install_wheel(_wheel(tmp_path / "demo-1.0-py3-none-any.whl"), root)
    site = root / image.site_packages().lstrip("/")
    script = root / "opt" / "subnetes" / "bin" / "demo"
    assert script.read_text().splitlines()[0] == "#!/opt/subnetes/bin/python3"
    assert "from demo import main" in script.read_text()
    assert "sys.exit(main())" in script.read_text()
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert stat.S_IMODE((site / "demo" / "data.txt").stat().st_mode) == 0o644
    pycs = list((site / "demo" / "__pycache__").glob("__init__.*.pyc"))
    assert len(pycs) == 1
    # A checked-hash pyc (flags word = 0b11): valid whatever mtime the layer gives the source.
    assert int.from_bytes(pycs[0].read_bytes()[4:8], "little") == 0b11
    dist = site / "demo-1.0.dist-info"
    assert (dist / "INSTALLER").exists() and (dist / "REQUESTED").exists()
    record = [line.split(",") for line in (dist / "RECORD").read_text().splitlines()]
    listed = {row[0] for row in record}
    assert "../../../bin/demo" in listed and "demo-1.0.dist-info/RECORD" in listed
    for rel, digest, size in record:
        if not digest:
            continue
        data = (site / rel).read_bytes()
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert digest == f"sha256={expected}" and int(size) == len(data)
    assert "/opt/subnetes/bin/demo" in paths


def test_install_wheel_refuses_platform_wheels(tmp_path: Path) -> None:
    path = tmp_path / "native-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("native-1.0.dist-info/WHEEL", "Root-Is-Purelib: false\n")
    with pytest.raises(image.ImageBuildError, match="pure-Python"):
        image.install_wheel(path, tmp_path / "root")


def test_layer_store_reuses_and_prunes(tree: Path, tmp_path: Path) -> None:
    store = image._LayerStore(tmp_path / "cache")
    kept = []
    for i in range(image.KEEP_LAYER_VERSIONS + 1):
        (tree / "etc" / "n").write_text(str(i))
        tar = store.workdir("t-") / "layer.tar"
        diff_id, _ = oci.write_layer_tar(tree, tar, owner=(0, 0), mtime=0)
        layer = store.make_layer(tar, diff_id, f"v{i}")
        store.put("app", f"{i:016x}", layer)
        os.utime(store._record("app", f"{i:016x}"), (1000 + i, 1000 + i))
        kept.append(layer)
    store._prune("app")
    assert store.get("app", f"{0:016x}") is None  # the oldest is gone, and its blob
    assert not kept[0].path.exists()
    assert store.get("app", f"{2:016x}") == kept[2]
    assert {p.name for p in store.blobs.iterdir()} == {k.path.name for k in kept[1:]}


def test_archive_is_not_rewritten_when_nothing_changed(tree: Path, tmp_path: Path) -> None:
    layers = _two_layers(tree, tmp_path)
    config = oci.image_config(layers, config={"Entrypoint": ["x"]})
    logs: list[str] = []
    out = image._write_archive(tmp_path, "localhost/x:1", layers, config, logs.append)
    first = out.stat().st_mtime_ns
    assert image._write_archive(tmp_path, "localhost/x:1", layers, config, logs.append) == out
    assert out.stat().st_mtime_ns == first and len(logs) == 1
    assert out.name == "localhost_x_1.oci.tar"
