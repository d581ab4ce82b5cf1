"""deploy/k8s: every overlay renders and every manifest is valid, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from tests.deploy.manifests import (
    CRD_SCHEMAS,
    DEPLOY,
    KUBERNETES_VERSIONS,
    OVERLAYS,
    SERVICES,
    STATEFUL,
    Doc,
    find,
    render,
    validation_errors,
)

pytestmark = pytest.mark.deploy


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_validates(overlay: str, version: str) -> None:
    errors = [e for doc in render(overlay) for e in validation_errors(doc, version)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("path", sorted(CRD_SCHEMAS.glob("*.json")), ids=lambda p: p.name)
def test_vendored_crd_schemas_are_valid_json_schemas(path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_crd_schemas_reject_what_the_operator_would_reject() -> None:
    """The hand-written CRD schemas are strict: a typo or a bad enum does not pass."""
    cluster = find(render("prod"), "Cluster", "helpdesk-db")
    typo: Doc = {**cluster, "spec": {**cluster["spec"], "instance": 3}}
    bad_enum: Doc = {**cluster, "spec": {**cluster["spec"], "primaryUpdateStrategy": "auto"}}
    assert validation_errors(typo, KUBERNETES_VERSIONS[0])
    assert validation_errors(bad_enum, KUBERNETES_VERSIONS[0])


def test_core_validation_is_strict() -> None:
    deployment = find(render("prod"), "Deployment", "helpdesk-tickets")
    typo: Doc = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    assert validation_errors(typo, KUBERNETES_VERSIONS[0])


def test_unknown_kinds_fail() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert validation_errors(doc, KUBERNETES_VERSIONS[0])


def containers(doc: Doc) -> list[Doc]:
    spec = doc["spec"]["template"]["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def workloads(overlay: str) -> list[Doc]:
    return [d for d in render(overlay) if d["kind"] in ("Deployment", "StatefulSet")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_hardened_and_bounded(overlay: str) -> None:
    for doc in workloads(overlay):
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        assert pod.get("automountServiceAccountToken") is False, doc["metadata"]["name"]
        for c in containers(doc):
            where = f"{doc['metadata']['name']}/{c['name']}"
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert "memory" in c["resources"]["limits"], where
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_have_probes_spread_pdb_hpa_and_metrics(overlay: str) -> None:
    docs = render(overlay)
    for service in SERVICES:
        name = f"helpdesk-{service}"
        deployment = find(docs, "Deployment", name)
        pod = deployment["spec"]["template"]["spec"]
        main = pod["containers"][0]
        assert main["args"] == [service]
        assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
        keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
        assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
        if service in STATEFUL:
            assert [c["args"] for c in pod["initContainers"]] == [["setup", service]]
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items()
        pdb = find(docs, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"]["matchLabels"] == selector
        hpa = find(docs, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert hpa["spec"]["minReplicas"] <= deployment["spec"]["replicas"]
        svc = find(docs, "Service", name)
        assert svc["spec"]["selector"].items() <= labels.items()
        # The gateway's metrics are on its ops port, behind a Service of their own.
        scraped = find(docs, "Service", f"{name}-ops") if service == "gateway" else svc
        assert scraped["metadata"]["labels"]["helpdesk.example.com/metrics"] == "true"
    monitor = find(docs, "ServiceMonitor", "helpdesk")
    assert {e["port"] for e in monitor["spec"]["endpoints"]} == {"http", "ops", "metrics"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_keeps_ops_endpoints_off_its_public_port(overlay: str) -> None:
    """Attack: read /metrics or the readiness details through the Ingress, or set
    X-Forwarded-For to pick one's own rate-limit address. The probes and the
    ServiceMonitor use the ops port, which neither the public Service nor the
    Ingress carries, and only a named proxy network may set the client address."""
    docs = render(overlay)
    pod = find(docs, "Deployment", "helpdesk-gateway")["spec"]["template"]["spec"]
    main = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert main[probe]["httpGet"]["port"] == "ops"
    public = find(docs, "Service", "helpdesk-gateway")
    assert [p["targetPort"] for p in public["spec"]["ports"]] == ["http"]
    (config,) = [
        d["data"]
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("helpdesk-gateway-config")
    ]
    assert int(config["HELPDESK_OPS_PORT"]) == ports["ops"] != ports["http"]
    assert config["FORWARDED_ALLOW_IPS"] not in ("*", "")
    assert "*" not in config["FORWARDED_ALLOW_IPS"].split(",")


def test_prod_runs_at_least_two_replicas_of_everything() -> None:
    docs = render("prod")
    for service in SERVICES:
        assert find(docs, "Deployment", f"helpdesk-{service}")["spec"]["replicas"] >= 2
        assert (
            find(docs, "HorizontalPodAutoscaler", f"helpdesk-{service}")["spec"]["minReplicas"] >= 2
        )
    assert find(docs, "StatefulSet", "helpdesk-nats")["spec"]["replicas"] == 3
    assert find(docs, "Cluster", "helpdesk-db")["spec"]["instances"] == 3
    assert not [d for d in docs if d["kind"] == "Secret"], (
        "prod must reference secrets, not ship them"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nats_is_a_three_node_jetstream_cluster_with_r3_streams(overlay: str) -> None:
    docs = render(overlay)
    sts = find(docs, "StatefulSet", "helpdesk-nats")
    assert sts["spec"]["replicas"] == 3
    conf = find(docs, "ConfigMap", "helpdesk-nats-config")["data"]["nats.conf"]
    routes = re.findall(r"nats://(helpdesk-nats-\d)\.helpdesk-nats-headless:6222", conf)
    assert routes == ["helpdesk-nats-0", "helpdesk-nats-1", "helpdesk-nats-2"]
    assert "jetstream" in conf
    shared = next(
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("helpdesk-config")
    )
    assert shared["data"]["HELPDESK_NATS_STREAM_REPLICAS"] == "3"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_is_exposed(overlay: str) -> None:
    docs = render(overlay)
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    backends = {
        p["backend"]["service"]["name"]
        for i in ingresses
        for r in i["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    assert backends == {"helpdesk-gateway"}
    paths = {p["path"] for i in ingresses for r in i["spec"]["rules"] for p in r["http"]["paths"]}
    assert not paths & {"/metrics", "/healthz", "/readyz"}
    assert all(
        d["spec"].get("type", "ClusterIP") == "ClusterIP" for d in docs if d["kind"] == "Service"
    )
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    deny = find(docs, "NetworkPolicy", "helpdesk-default-deny")
    assert deny["spec"]["podSelector"] == {}
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    # Only the gateway's policy admits traffic from the ingress controller's namespace.
    from_ingress = [
        p["metadata"]["name"]
        for p in policies
        for rule in p["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if peer.get("namespaceSelector", {})
        .get("matchLabels", {})
        .get("kubernetes.io/metadata.name")
        == "ingress-nginx"
    ]
    assert from_ingress == ["helpdesk-gateway-ingress"]


def _allowed_egress_ports(policies: list[Doc], labels: dict[str, str]) -> set[int]:
    ports: set[int] = set()
    for policy in policies:
        selector: dict[str, Any] = policy["spec"]["podSelector"]
        if not _selects(selector, labels) or "Egress" not in policy["spec"]["policyTypes"]:
            continue
        for rule in policy["spec"].get("egress", []):
            ports |= {p["port"] for p in rule.get("ports", [])}
    return ports


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expr in selector.get("matchExpressions", []):
        if expr["operator"] == "In" and labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def test_services_reach_nats_and_their_database_only() -> None:
    docs = render("prod")
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    for service in SERVICES:
        labels = find(docs, "Deployment", f"helpdesk-{service}")["spec"]["template"]["metadata"][
            "labels"
        ]
        expected = {53, 4222}
        if service in STATEFUL:
            expected.add(5432)
        if service in ("notifier", "mailgate"):
            expected |= {25, 465, 587}  # the SMTP relay (the mailgate's explanation mails)
        if service == "mailgate":
            expected |= {993}  # IMAPS: a hosted mailbox to poll
        assert _allowed_egress_ports(policies, labels) == expected, service


def test_yaml_lints_clean() -> None:
    from yamllint import linter  # type: ignore[import-untyped]
    from yamllint.config import YamlLintConfig  # type: ignore[import-untyped]

    config = YamlLintConfig(file=str(DEPLOY / ".yamllint.yaml"))
    paths = sorted((DEPLOY / "k8s").rglob("*.yaml")) + sorted((DEPLOY / "compose").rglob("*.yaml"))
    problems = [
        f"{path.relative_to(DEPLOY)}:{p.line}: {p.desc}"
        for path in paths
        for p in linter.run(path.read_text(encoding="utf-8"), config)
    ]
    assert not problems, "\n".join(problems)
