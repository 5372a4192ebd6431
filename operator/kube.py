"""The operator's Kubernetes I/O: a thin async facade over lightkube's AsyncClient.

Children are written with server-side apply under one field manager (``subnetes-operator``),
status with merge patches to the ``/status`` subresource. The operator never writes spec.
Every write first passes :func:`~.leader.fence` (a replica that lost its Lease writes nothing).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

import httpx2
from lightkube import AsyncClient, KubeConfig, codecs
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.core_v1 import EventSource, ObjectReference
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Event, Pod, Secret, Service
from lightkube.types import PatchType

from . import metrics
from .applied import AppliedManifests
from .labels import FIELD_MANAGER, GROUP, MANAGED_BY, VERSION
from .leader import fence
from .status import PodState

Subnet = create_namespaced_resource(GROUP, VERSION, "Subnet", "subnets")
Miner = create_namespaced_resource(GROUP, VERSION, "Miner", "miners")
Validator = create_namespaced_resource(GROUP, VERSION, "Validator", "validators")
KINDS = {"Subnet": Subnet, "Miner": Miner, "Validator": Validator}


def transient_delay(exc: BaseException) -> float | None:
    """Seconds to wait before retrying after ``exc``, when the API server's answer was
    temporary (429 such as "storage is (re)initializing" while a CRD is re-established, or a
    5xx, or no answer in time: a loaded API server timed out Service applies at 1,000 neurons
    and Kopf retried each after 60 s with a traceback); None for any other error. Such a moment
    is routine, not a bug worth a traceback. Every write the operator sends is idempotent (apply,
    merge patch), so sending it again after a timeout is safe."""
    if isinstance(exc, httpx2.TimeoutException | httpx2.NetworkError):
        return 2.0
    if isinstance(exc, ApiError):
        code = exc.status.code or 0
        if code == 429 or code >= 500:
            details = exc.status.details
            after = details.retryAfterSeconds if details is not None else None
            return float(after) if after else 1.0
    return None


def _to_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class Kube:
    """Async Kubernetes calls the reconcilers need (one shared lightkube client)."""

    def __init__(self, client: AsyncClient | None = None) -> None:
        self._client = client
        self.applied = AppliedManifests()

    @property
    def client(self) -> AsyncClient:
        # Created lazily inside the running loop (lightkube binds to it).
        if self._client is None:
            # In-cluster service account, else $KUBECONFIG (as Kopf logs in).
            config = KubeConfig.from_env()
            self._client = AsyncClient(config, field_manager=FIELD_MANAGER, trust_env=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    # ---- reads ------------------------------------------------------------------------------

    async def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A Subnet/Miner/Validator as a dict, or None when it does not exist."""
        try:
            obj = await self.client.get(KINDS[kind], name, namespace=namespace)
        except ApiError as e:
            if e.status.code == 404:
                return None
            raise
        return _to_dict(obj)

    async def list(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        """All objects of ``kind`` in ``namespace``."""
        return [_to_dict(o) async for o in self.client.list(KINDS[kind], namespace=namespace)]

    async def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """Decoded ``data`` of a Secret, or None when it does not exist. Never logged."""
        found = await self.secret(namespace, name)
        return None if found is None else found[1]

    async def secret(
        self, namespace: str, name: str
    ) -> tuple[dict[str, Any], dict[str, bytes]] | None:
        """(metadata, decoded data) of a Secret, or None when it does not exist. The metadata
        keeps what the hotkey claim check reads: annotations and owner references."""
        try:
            sec = await self.client.get(Secret, name, namespace=namespace)
        except ApiError as e:
            if e.status.code == 404:
                return None
            raise
        out = {k: base64.b64decode(v) for k, v in (sec.data or {}).items()}
        out |= {k: v.encode() for k, v in (sec.stringData or {}).items()}
        meta = sec.metadata
        owners = [
            {"kind": r.kind, "name": r.name, "uid": r.uid, "controller": bool(r.controller)}
            for r in (meta.ownerReferences if meta else None) or []
        ]
        annotations = dict((meta.annotations if meta else None) or {})
        return {"annotations": annotations, "ownerReferences": owners}, out

    async def pod(self, namespace: str, name: str) -> PodState | None:
        """What matters of pod ``name``: node, IP, running."""
        try:
            pod = await self.client.get(Pod, name, namespace=namespace)
        except ApiError as e:
            if e.status.code == 404:
                return None
            raise
        st = pod.status
        return PodState(
            name=name,
            node=pod.spec.nodeName if pod.spec else None,
            ip=st.podIP if st else None,
            running=bool(st and st.phase == "Running"),
        )

    # ---- writes -----------------------------------------------------------------------------

    async def apply(self, manifest: dict[str, Any]) -> None:
        """Server-side apply ``manifest`` as the operator's field manager (force: we own it),
        unless this process applied the same manifest lately (see :mod:`.applied`)."""
        kind = str(manifest.get("kind"))
        if self.applied.unchanged(manifest):
            metrics.CHILD_APPLIES.labels(kind, "unchanged").inc()
            return
        fence(f"apply {kind}/{manifest.get('metadata', {}).get('name')}")
        try:
            await self.client.apply(
                codecs.from_dict(manifest), field_manager=FIELD_MANAGER, force=True
            )
        except BaseException:
            self.applied.forget(manifest)
            raise
        self.applied.remember(manifest)
        metrics.CHILD_APPLIES.labels(kind, "applied").inc()

    async def delete_owned(self, kind: str, namespace: str, name: str, owner_uid: str) -> bool:
        """Delete Deployment or Service ``name`` when ``owner_uid`` owns it (an object of that
        name someone else made stays); True when this call deleted it."""
        res: type[Deployment] | type[Service] = Deployment if kind == "Deployment" else Service
        try:
            obj = await self.client.get(res, name, namespace=namespace)
        except ApiError as e:
            if e.status.code == 404:
                return False
            raise
        owners = (obj.metadata.ownerReferences if obj.metadata else None) or []
        if not any(r.uid == owner_uid for r in owners):
            return False
        fence(f"delete {kind}/{name}")
        self.applied.forget_named(kind, namespace, name)
        try:
            await self.client.delete(res, name, namespace=namespace)
        except ApiError as e:
            if e.status.code == 404:
                return False
            raise
        return True

    async def create_secret_if_absent(self, manifest: dict[str, Any]) -> bool:
        """Create a Secret unless one of that name exists; True when this call created it."""
        fence(f"create Secret/{manifest.get('metadata', {}).get('name')}")
        try:
            await self.client.create(codecs.from_dict(manifest), field_manager=FIELD_MANAGER)
        except ApiError as e:
            if e.status.code == 409:
                return False
            raise
        return True

    async def patch_status(
        self, kind: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> str | None:
        """JSON merge patch on ``/status`` (only the changed fields).

        Returns the object's new ``metadata.resourceVersion`` (the API server answers a patch
        with the patched object), so the in-memory index can tell older watch events apart.
        """
        fence(f"patch {kind}/{name}/status")
        obj = await self.client.patch(
            KINDS[kind].Status,
            name,
            {"status": patch},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        )
        meta = getattr(obj, "metadata", None)
        return getattr(meta, "resourceVersion", None)

    async def patch_metadata(
        self, kind: str, namespace: str, name: str, patch: dict[str, Any]
    ) -> None:
        """JSON merge patch on metadata (finalizers, annotations)."""
        fence(f"patch {kind}/{name}/metadata")
        await self.client.patch(
            KINDS[kind], name, {"metadata": patch}, namespace=namespace, patch_type=PatchType.MERGE
        )

    async def event(self, body: dict[str, Any], type_: str, reason: str, message: str) -> None:
        """Post a core/v1 Event about ``body`` (shown by ``kubectl describe``). Never key material."""
        fence(f"post Event {reason}")
        meta = body["metadata"]
        now = dt.datetime.now(dt.UTC)
        ev = Event(
            metadata=ObjectMeta(
                name=f"{meta['name']}.{uuid.uuid4().hex[:12]}",
                namespace=meta["namespace"],
                labels={"app.kubernetes.io/managed-by": MANAGED_BY},
            ),
            involvedObject=ObjectReference(
                apiVersion=body.get("apiVersion", f"{GROUP}/{VERSION}"),
                kind=body["kind"],
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta.get("uid"),
            ),
            type=type_,
            reason=reason,
            message=message[:1024],
            source=EventSource(component=MANAGED_BY),
            reportingComponent=MANAGED_BY,
            reportingInstance=MANAGED_BY,
            firstTimestamp=now,
            lastTimestamp=now,
            count=1,
        )
        await self.client.create(ev)
