"""A small OCI image layout writer: layer tars, image config, manifest, index, one archive.

Enough of the OCI image spec (v1.0) for ``ctr images import`` (containerd 1.6+) and any other
OCI-layout reader: ``oci-layout``, ``index.json`` and ``blobs/sha256/<digest>`` in one tar.
The index names the image twice, as ``org.opencontainers.image.ref.name`` (the tag, as the
spec has it) and ``io.containerd.image.name`` (the full reference, which containerd uses
as the image's name). Everything is deterministic: the same layers and config give the same
archive bytes, so a rebuilt, unchanged image has the same manifest digest.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"
# Files inside the archive (not inside layers) get this mtime: the archive is a transport.
_ARCHIVE_MTIME = 0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Layer:
    """One layer blob on disk, with what the manifest and the config say about it."""

    path: Path
    digest: str  # "sha256:<hex>" of the blob as stored (compressed or not)
    size: int
    diff_id: str  # "sha256:<hex>" of the uncompressed tar
    media_type: str = MEDIA_LAYER
    created_by: str = ""  # the history entry's comment

    def to_json(self) -> dict:
        """A JSON-able record (to cache a built layer next to its blob)."""
        data = dataclasses.asdict(self)
        data["path"] = str(self.path)
        return data

    @classmethod
    def from_json(cls, data: dict) -> Layer:
        """The inverse of ``to_json``."""
        return cls(**{**data, "path": Path(data["path"])})


class _HashingWriter:
    """A write-only file that hashes and counts what passes through to ``raw``."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        self.raw.write(data)
        return len(data)

    def tell(self) -> int:  # tarfile asks where it starts
        return self.size


def sha256_file(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes."""
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
    return f"sha256:{sha.hexdigest()}"


def _walk(root: Path, skip: set[str], rel: str = "") -> Iterable[str]:
    """Relative paths under ``root``, sorted, parents first; nothing below a ``skip`` dir."""
    base = root / rel if rel else root
    for entry in sorted(os.scandir(base), key=lambda e: e.name):
        path = f"{rel}/{entry.name}" if rel else entry.name
        yield path
        if entry.is_dir(follow_symlinks=False) and path not in skip:
            yield from _walk(root, skip, path)


def write_layer_tar(
    root: Path,
    out: Path,
    *,
    skip_contents: Iterable[str] = (),
    mtime: int | None = None,
    owner: tuple[int, int] | None = None,
) -> tuple[str, int]:
    """Write the tree under ``root`` as an OCI layer tar; return (diff_id, size).

    Entries keep their numeric uid/gid, mode and (integer) mtime, unless ``owner`` or
    ``mtime`` override them for every entry (a layer built from sources should not record
    who built it, or when). User and group names are left empty: the rootfs's own
    /etc/passwd, not the build host's, gives ids their names. Directories named in
    ``skip_contents`` are kept, empty (the runtime mounts /dev, /proc and /sys over them).
    Hard links stay hard links; device nodes, sockets and FIFOs are left out.
    """
    skip = {s.strip("/") for s in skip_contents}
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb", buffering=_CHUNK) as raw:
        sink = _HashingWriter(raw)
        # typeshed wants read/seek/close on any fileobj; mode "w" only writes and tells.
        with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for rel in _walk(root, skip):
                path = root / rel
                info = tar.gettarinfo(str(path), arcname=rel)
                if info is None:  # a socket: nothing a container could use
                    continue
                if info.ischr() or info.isblk() or info.isfifo():
                    continue
                info.uname = info.gname = ""
                info.mtime = int(info.mtime) if mtime is None else mtime
                if owner is not None:
                    info.uid, info.gid = owner
                if info.isreg():
                    with path.open("rb") as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)
    return f"sha256:{sink.sha.hexdigest()}", sink.size


def make_layer(
    tar_path: Path,
    blob_dir: Path,
    *,
    gzip_level: int | None = None,
    created_by: str = "",
    diff_id: str | None = None,
) -> Layer:
    """Turn a layer tar into a content-addressed blob in ``blob_dir`` (moved, or gzipped).

    ``gzip_level`` None keeps the layer uncompressed (``ctr import`` then skips a
    decompression; the archive is bigger). The gzip stream has no name and mtime 0, so it is
    reproducible. ``diff_id`` (from ``write_layer_tar``) saves hashing the tar again.
    """
    diff_id = diff_id or sha256_file(tar_path)
    blob_dir.mkdir(parents=True, exist_ok=True)
    if gzip_level is None:
        digest, media_type = diff_id, MEDIA_LAYER
        blob = blob_dir / digest.split(":", 1)[1]
        os.replace(tar_path, blob)
    else:
        tmp = blob_dir / f".{tar_path.name}.gz.tmp"
        with (
            tar_path.open("rb") as src,
            tmp.open("wb") as raw,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, compresslevel=gzip_level, mtime=0
            ) as gz,
        ):
            shutil.copyfileobj(src, gz, _CHUNK)
        digest, media_type = sha256_file(tmp), MEDIA_LAYER_GZIP
        blob = blob_dir / digest.split(":", 1)[1]
        os.replace(tmp, blob)
        tar_path.unlink()
    return Layer(
        path=blob,
        digest=digest,
        size=blob.stat().st_size,
        diff_id=diff_id,
        media_type=media_type,
        created_by=created_by,
    )


def image_config(
    layers: list[Layer],
    *,
    config: dict,
    created: str = "1970-01-01T00:00:00Z",
    architecture: str = "amd64",
    os_name: str = "linux",
) -> dict:
    """The OCI image config: the runtime ``config`` section plus rootfs diff_ids and history.

    ``config`` holds the OCI config keys (User, Env as a list of "K=V", Entrypoint, Cmd,
    WorkingDir, ExposedPorts, Labels); keys with empty values are dropped.
    """
    return {
        "created": created,
        "architecture": architecture,
        "os": os_name,
        "config": {k: v for k, v in config.items() if v not in (None, "", [], {})},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created, "created_by": layer.created_by} for layer in layers],
    }


def _canonical(data: dict) -> bytes:
    """JSON bytes that are the same for the same data (the digest names them)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def split_reference(name: str) -> tuple[str, str]:
    """``registry/repo:tag`` -> (``registry/repo``, ``tag``); the tag defaults to latest."""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = name.rsplit(":", 1)
        return repo, tag
    return name, "latest"


def write_oci_archive(
    out: Path,
    *,
    name: str,
    layers: list[Layer],
    config: dict,
    annotations: dict[str, str] | None = None,
) -> str:
    """Write an OCI image layout as one tar at ``out``; return the manifest digest.

    ``config`` is a full image config (see ``image_config``). The manifest carries the
    platform from it; the index entry names the image ``name`` for containerd and its tag for
    plain OCI tools. Written to a temporary file and renamed, so a reader never sees half.
    """
    config_bytes = _canonical(config)
    config_digest = _digest(config_bytes)
    manifest: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {
            "mediaType": MEDIA_CONFIG,
            "digest": config_digest,
            "size": len(config_bytes),
        },
        "layers": [
            {"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}
            for layer in layers
        ],
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    manifest_bytes = _canonical(manifest)
    manifest_digest = _digest(manifest_bytes)
    _, tag = split_reference(name)
    index = {
        "schemaVersion": 2,
        "mediaType": MEDIA_INDEX,
        "manifests": [
            {
                "mediaType": MEDIA_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "platform": {"architecture": config["architecture"], "os": config["os"]},
                "annotations": {ANNOTATION_CONTAINERD_NAME: name, ANNOTATION_REF_NAME: tag},
            }
        ],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_bytes(tar, "oci-layout", _canonical({"imageLayoutVersion": "1.0.0"}))
        for folder in ("blobs", "blobs/sha256"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, _ARCHIVE_MTIME
            tar.addfile(info)
        seen: set[str] = set()
        for layer in layers:
            if layer.digest in seen:  # the same blob twice (e.g. two empty layers)
                continue
            seen.add(layer.digest)
            info = tarfile.TarInfo(_blob_name(layer.digest))
            info.size, info.mode, info.mtime = layer.size, 0o644, _ARCHIVE_MTIME
            with layer.path.open("rb") as fh:
                tar.addfile(info, fh)
        _add_bytes(tar, _blob_name(config_digest), config_bytes)
        _add_bytes(tar, _blob_name(manifest_digest), manifest_bytes)
        _add_bytes(tar, "index.json", _canonical(index))
    os.replace(tmp, out)
    return manifest_digest


def _blob_name(digest: str) -> str:
    algo, hexdigest = digest.split(":", 1)
    return f"blobs/{algo}/{hexdigest}"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, _ARCHIVE_MTIME
    tar.addfile(info, io.BytesIO(data))


def read_oci_archive(path: Path) -> dict:
    """Read an archive back: {"index", "manifest", "config", "layers": [TarInfo lists]}.

    For tests and checks: it verifies every blob against its digest as it reads.
    """
    blobs: dict[str, bytes] = {}
    files: dict[str, bytes] = {}
    with tarfile.open(path) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("blobs/sha256/"):
                digest = "sha256:" + member.name.rsplit("/", 1)[1]
                if _digest(data) != digest:
                    raise ValueError(f"blob {member.name} does not match its digest")
                blobs[digest] = data
            else:
                files[member.name] = data
    index = json.loads(files["index.json"])
    manifest = json.loads(blobs[index["manifests"][0]["digest"]])
    config = json.loads(blobs[manifest["config"]["digest"]])
    layers = []
    for desc in manifest["layers"]:
        data = blobs[desc["digest"]]
        if desc["mediaType"] == MEDIA_LAYER_GZIP:
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as layer_tar:
            members = layer_tar.getmembers()
            contents = {
                m.name: layer_tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in members
                if m.isfile()
            }
        layers.append({"members": members, "contents": contents, "diff_id": _digest(data)})
    return {
        "oci_layout": json.loads(files["oci-layout"]),
        "index": index,
        "manifest": manifest,
        "config": config,
        "layers": layers,
        "blobs": blobs,
    }
