"""The router's routes from the Kubernetes API: every Registered Subnet with ``spec.gateway``.

The operator runs a Subnet's gateway as the Service ``<subnet>-gateway`` on ``spec.gateway.port``
and publishes the Subnet's netuid in ``status.netuid`` once the chain registered it; that is all
the router needs. It only lists Subnets (RBAC: ``list`` on ``subnets.subnetes.io``, nothing
else): no Secrets, no Services, no watch.

:func:`routes_from_subnets` is pure; :class:`KubeDiscovery` is the thin I/O edge.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from lightkube import AsyncClient, KubeConfig
from lightkube.generic_resource import create_namespaced_resource

from .router import Route

Subnet = create_namespaced_resource("subnetes.io", "v1alpha1", "Subnet", "subnets")

log = logging.getLogger("subnetes.gateway.discovery")

#: Where a Subnet's gateway Service answers; formatted with name, namespace and port.
DEFAULT_URL_TEMPLATE = "http://{name}-gateway.{namespace}.svc:{port}"
DEFAULT_PORT = 8080  # spec.gateway.port's default (the CRD's)
DEFAULT_CAPABILITIES = ("matmul",)  # spec.gateway.capabilities' default (the CRD's)


def routes_from_subnets(
    subnets: Iterable[Mapping[str, Any]], url_template: str = DEFAULT_URL_TEMPLATE
) -> list[Route]:
    """One route per Subnet that has a gateway and a netuid (phase Registered), by netuid.

    A Subnet without ``spec.gateway`` serves no one; one not yet registered (no netuid) or
    deregistered is skipped until the operator reports it Registered. Two Subnets claiming one
    netuid (a stale status) keep the first by namespace/name and log the other.
    """
    out: dict[int, Route] = {}
    for s in sorted(
        subnets, key=lambda s: (s["metadata"].get("namespace", ""), s["metadata"]["name"])
    ):
        gw = (s.get("spec") or {}).get("gateway")
        status = s.get("status") or {}
        netuid = status.get("netuid")
        if gw is None or netuid is None or status.get("phase") != "Registered":
            continue
        meta = s["metadata"]
        url = url_template.format(
            name=meta["name"],
            namespace=meta.get("namespace", "default"),
            port=int(gw.get("port") or DEFAULT_PORT),
        )
        caps = tuple(str(c) for c in gw.get("capabilities") or DEFAULT_CAPABILITIES)
        if int(netuid) in out:
            log.warning(
                "two Subnets report one netuid; keeping the first",
                extra={"netuid": netuid, "subnet": f"{meta.get('namespace')}/{meta['name']}"},
            )
            continue
        out[int(netuid)] = Route(int(netuid), url.rstrip("/"), caps)
    return list(out.values())


class KubeDiscovery:
    """Lists Subnets (all namespaces, or the given ones) with the pod's service account."""

    def __init__(
        self,
        namespaces: list[str] | None = None,
        url_template: str = DEFAULT_URL_TEMPLATE,
        client: Any = None,
    ) -> None:
        self.namespaces = namespaces or []
        self.url_template = url_template
        self._client = client

    async def __call__(self) -> list[Route]:
        """The current routes (raises on an API error: the router keeps its last table)."""
        if self._client is None:
            # In-cluster service account, else $KUBECONFIG.
            self._client = AsyncClient(KubeConfig.from_env(), trust_env=False)
        items: list[dict[str, Any]] = []
        for ns in self.namespaces or ["*"]:
            async for obj in self._client.list(Subnet, namespace=ns):
                items.append(obj.to_dict() if hasattr(obj, "to_dict") else dict(obj))
        return routes_from_subnets(items, self.url_template)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
