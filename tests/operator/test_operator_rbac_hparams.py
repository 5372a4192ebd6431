"""RBAC data and hyperparameter drift (pure)."""

from subnetes.operator import hyperparams, rbac


def test_rbac_is_least_privilege() -> None:
    role = rbac.cluster_role()
    verbs = {
        (g, r): set(rule["verbs"])
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert verbs[("", "secrets")] == {"get", "create"}  # never list/watch Secrets
    assert all("*" not in v for v in verbs.values())
    # delete only for a Subnet's gateway, when spec.gateway is removed (it owns both objects)
    deletes = {k for k, v in verbs.items() if "delete" in v}
    assert deletes == {("apps", "deployments"), ("", "services")}
    assert ("", "configmaps") not in verbs
    assert "update" not in verbs[("subnetes.io", "miners")]
    kinds = [m["kind"] for m in rbac.manifests("ops")]
    assert kinds == ["ServiceAccount", "ClusterRole", "ClusterRoleBinding"]


def test_hyperparameter_drift_in_safe_order() -> None:
    spec = {
        "tempo": 10,
        "maxAllowedValidators": 8,
        "maxAllowedUids": 64,
        "maxBurn": "1.5",
        "liquidAlpha": {"enabled": True, "alphaLow": 45875},
        "commitReveal": {"enabled": False},
    }
    chain = {
        "tempo": 10,
        "max_allowed_validators": 64,
        "max_allowed_uids": 256,
        "max_burn": 1,
        "liquid_alpha_enabled": False,
        "alpha_low": 45875,
        "commit_reveal_enabled": False,
    }
    changes = hyperparams.drift(spec, chain)
    assert changes[0] == ("max_allowed_uids", 64)
    assert dict(changes) == {
        "max_allowed_uids": 64,
        "max_allowed_validators": 8,
        "max_burn": 1_500_000_000,
        "liquid_alpha_enabled": True,
    }
    assert hyperparams.drift(spec, {k: v for k, v in chain.items() if k != "tempo"}) == changes
