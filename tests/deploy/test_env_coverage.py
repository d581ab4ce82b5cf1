"""Every setting a service reads is provided by the Kubernetes manifests and the
compose file. The settings are enumerated from each service's pydantic-settings
class, so a new field without its manifest entry fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpdesk.servicekit.settings import ServiceSettings
from tests.deploy.manifests import (
    DEPLOY,
    OVERLAYS,
    REPO,
    SERVICES,
    STATEFUL,
    Doc,
    env_names,
    find,
    render,
    settings_class,
)

pytestmark = pytest.mark.deploy

COMPOSE = DEPLOY / "compose" / "compose.yaml"
OPERATIONS = REPO / "docs" / "operations.md"

# The directory's settings (docs/sso.md): unset, identity has no directory.
LDAP_SETTINGS = [
    f"HELPDESK_LDAP_{name}"
    for name in (
        *("URL", "CA_FILE", "BIND_DN", "BIND_PASSWORD", "BASE_DN", "USER_FILTER"),
        *("USERNAME_ATTRIBUTE", "NAME_ATTRIBUTE", "EMAIL_ATTRIBUTE", "ID_ATTRIBUTE"),
        *("GROUP_BASE_DN", "GROUP_FILTER", "AGENT_GROUPS", "ADMIN_GROUPS"),
        *("TIMEOUT_SECONDS", "SYNC_MINUTES"),
    )
]
# OpenID Connect (docs/sso.md): unset, nobody signs in through a provider.
OIDC_SETTINGS = [
    f"HELPDESK_OIDC_{name}"
    for name in (
        *("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "SCOPES", "ROLE_CLAIM"),
        *("AGENT_GROUPS", "ADMIN_GROUPS", "ALGORITHMS", "CLOCK_SKEW_SECONDS", "TIMEOUT_SECONDS"),
    )
]
# SAML (docs/sso.md): unset, nobody signs in through an IdP.
SAML_SETTINGS = [
    f"HELPDESK_SAML_{name}"
    for name in (
        *("IDP_METADATA_URL", "IDP_METADATA_CERT", "IDP_ENTITY_ID", "ID_ATTRIBUTE"),
        "USERNAME_ATTRIBUTE",
        *("NAME_ATTRIBUTE", "EMAIL_ATTRIBUTE", "ROLE_ATTRIBUTE", "AGENT_GROUPS"),
        *("ADMIN_GROUPS", "CLOCK_SKEW_SECONDS", "TIMEOUT_SECONDS", "XMLSEC_BINARY"),
    )
]
# Settings deliberately left unset, each with the reason; an entry that no longer
# names a setting the service reads fails the test (keep this list honest).
UNSET_IN_KUBERNETES: dict[tuple[str, str], str] = {
    ("gateway", "HELPDESK_DATABASE_URL"): "the gateway keeps no state (DESIGN.md §1)",
    ("tickets", "HELPDESK_ROUTING_POLICY"): "unset = the routing.yaml shipped in the image",
    ("mailgate", "HELPDESK_MAILGATE_TLS_CERT"): "unset = no STARTTLS (docs/mail.md)",
    ("mailgate", "HELPDESK_MAILGATE_TLS_KEY"): "unset = no STARTTLS (docs/mail.md)",
    ("gateway", "HELPDESK_CLAMD_URL"): "optional malware scan: set it where a clamd runs",
    ("mailgate", "HELPDESK_CLAMD_URL"): "optional malware scan of mailed-in files",
    **{
        ("identity", name): "no LDAP / Active Directory unless the site has one (docs/sso.md)"
        for name in LDAP_SETTINGS
    },
    ("identity", "HELPDESK_REGISTRATION_DOMAINS"): "read only with HELPDESK_REGISTRATION=domains",
    **{
        ("identity", name): "no OpenID Connect unless the site has a provider (docs/sso.md)"
        for name in OIDC_SETTINGS
    },
    ("gateway", "HELPDESK_OIDC_ISSUER"): "set with identity's: shows the organisation's button",
    **{
        ("identity", name): "no SAML unless the site has an IdP (docs/sso.md)"
        for name in SAML_SETTINGS
    },
    ("gateway", "HELPDESK_SAML_IDP_METADATA_URL"): "set with identity's: shows the button",
    ("identity", "HELPDESK_WEBAUTHN_RP_ID"): "unset = the host of HELPDESK_PUBLIC_URL",
    ("identity", "HELPDESK_WEBAUTHN_ORIGINS"): "unset = the origin of HELPDESK_PUBLIC_URL",
}
UNSET_IN_COMPOSE: dict[tuple[str, str], str] = {
    ("tickets", "HELPDESK_ROUTING_POLICY"): "unset = the routing.yaml shipped in the image",
    ("notifier", "HELPDESK_SMTP_USERNAME"): "the local mail catcher needs no login",
    ("notifier", "HELPDESK_SMTP_PASSWORD"): "the local mail catcher needs no login",
    ("mailgate", "HELPDESK_SMTP_USERNAME"): "the local mail catcher needs no login",
    ("mailgate", "HELPDESK_SMTP_PASSWORD"): "the local mail catcher needs no login",
    ("mailgate", "HELPDESK_MAILGATE_TLS_CERT"): "unset = no STARTTLS (docs/mail.md)",
    ("mailgate", "HELPDESK_MAILGATE_TLS_KEY"): "unset = no STARTTLS (docs/mail.md)",
    ("mailgate", "HELPDESK_MAILGATE_IMAP_URL"): "unset = SMTP intake only",
    ("gateway", "HELPDESK_CLAMD_URL"): "optional malware scan: no clamd in the compose stack",
    ("mailgate", "HELPDESK_CLAMD_URL"): "optional malware scan: no clamd in the compose stack",
    ("notifier", "HELPDESK_NOTIFIER_SEAL_PREVIOUS_PRIVATE_KEY"): "set only during a key rotation",
    **{("identity", name): "no directory in the compose stack" for name in LDAP_SETTINGS},
    **{("identity", name): "no identity provider in the compose stack" for name in OIDC_SETTINGS},
    ("gateway", "HELPDESK_OIDC_ISSUER"): "no identity provider in the compose stack",
    **{("identity", name): "no SAML IdP in the compose stack" for name in SAML_SETTINGS},
    ("gateway", "HELPDESK_SAML_IDP_METADATA_URL"): "no SAML IdP in the compose stack",
    ("identity", "HELPDESK_WEBAUTHN_RP_ID"): "unset = the host of HELPDESK_PUBLIC_URL",
    ("identity", "HELPDESK_WEBAUTHN_ORIGINS"): "unset = the origin of HELPDESK_PUBLIC_URL",
    ("identity", "HELPDESK_REGISTRATION_DOMAINS"): "read only with HELPDESK_REGISTRATION=domains",
}
# Secrets the prod overlay references but does not ship; docs/operations.md says
# how to create them.
EXTERNAL_SECRETS = {
    "helpdesk-jwt",
    "helpdesk-notifier-seal",
    "helpdesk-privacy-kek",
    "helpdesk-db-identity",
    "helpdesk-db-tickets",
    "helpdesk-db-notifier",
    "helpdesk-db-mailgate",
    "helpdesk-mail-reply",
    "helpdesk-smtp",
    # NATS: the server's authorization block and each identity's NKEY seed (docs/security.md).
    "helpdesk-nats-auth",
    "helpdesk-nats-identity",
    "helpdesk-nats-tickets",
    "helpdesk-nats-notifier",
    "helpdesk-nats-mailgate",
    "helpdesk-nats-gateway",
}


def reads(service: str) -> set[str]:
    return env_names(settings_class(service))


def container_env(docs: tuple[Doc, ...], container: Doc) -> set[str]:
    """Names a container gets from `env` and from the ConfigMaps / Secrets in `envFrom`."""
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        ref = source.get("configMapRef") or source.get("secretRef")
        assert ref is not None, source
        kind = "ConfigMap" if "configMapRef" in source else "Secret"
        names |= set(find(docs, kind, ref["name"]).get("data", {}))
    return names


def deployment(docs: tuple[Doc, ...], service: str) -> Doc:
    return find(docs, "Deployment", f"helpdesk-{service}")


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_kubernetes_provides_every_setting(overlay: str, service: str) -> None:
    docs = render(overlay)
    pod = deployment(docs, service)["spec"]["template"]["spec"]
    main = next(c for c in pod["containers"] if c["name"] == service)
    exempt = {var for (svc, var) in UNSET_IN_KUBERNETES if svc == service}
    missing = reads(service) - container_env(docs, main) - exempt
    assert not missing, (
        f"{service} reads {sorted(missing)} but deploy/k8s ({overlay}) does not set them: "
        f"add them to deploy/k8s/base/{service}.env (or a Secret reference in {service}.yaml)"
    )
    for init in pod.get("initContainers", []):
        missing = env_names(ServiceSettings) - container_env(docs, init) - exempt
        assert not missing, f"{service}/{init['name']} lacks {sorted(missing)}"


def test_exemptions_name_settings_that_exist() -> None:
    for (service, var), why in {**UNSET_IN_KUBERNETES, **UNSET_IN_COMPOSE}.items():
        assert var in reads(service), f"stale exemption {service} {var} ({why})"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_references_resolve(overlay: str) -> None:
    """ConfigMap and Secret keys exist; `$(VAR)` only names variables defined before it."""
    docs = render(overlay)
    docs_text = OPERATIONS.read_text(encoding="utf-8") if OPERATIONS.exists() else ""
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = doc["spec"]["template"]["spec"]
        for volume in spec.get("volumes", []):
            mounted = [volume["secret"]["secretName"]] if "secret" in volume else []
            mounted += [
                source["secret"]["name"]
                for source in volume.get("projected", {}).get("sources", [])
                if "secret" in source
            ]
            for name in mounted:
                if not any(d["kind"] == "Secret" and d["metadata"]["name"] == name for d in docs):
                    assert name in EXTERNAL_SECRETS, f"unknown Secret {name}"
                    assert name in docs_text, f"docs/operations.md must say how to create {name}"
        for c in list(spec.get("initContainers", [])) + list(spec["containers"]):
            defined: set[str] = set()
            for entry in c.get("env", []):
                for ref in re.findall(
                    r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(entry.get("value", ""))
                ):
                    assert ref in defined, (
                        f"{c['name']}: {entry['name']} uses $({ref}) before it is set"
                    )
                defined.add(entry["name"])
                source: dict[str, Any] = entry.get("valueFrom", {})
                if "configMapKeyRef" in source:
                    ref_doc = find(docs, "ConfigMap", source["configMapKeyRef"]["name"])
                    assert source["configMapKeyRef"]["key"] in ref_doc["data"]
                if "secretKeyRef" in source:
                    name, key = source["secretKeyRef"]["name"], source["secretKeyRef"]["key"]
                    shipped = [
                        d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == name
                    ]
                    if shipped:
                        # An optional key may be absent (e.g. a previous key between rotations).
                        assert key in shipped[0]["data"] or source["secretKeyRef"].get(
                            "optional"
                        ), f"{name} has no key {key}"
                    elif not source["secretKeyRef"].get("optional"):
                        assert name in EXTERNAL_SECRETS, f"unknown Secret {name}"
                        assert name in docs_text, (
                            f"docs/operations.md must say how to create {name}"
                        )


def compose_env(service: dict[str, Any], base: Path) -> set[str]:
    names: set[str] = set()
    env_files = service.get("env_file", [])
    for entry in [env_files] if isinstance(env_files, str) else env_files:
        path = base / (entry if isinstance(entry, str) else entry["path"])
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                names.add(line.split("=", 1)[0].strip())
    environment = service.get("environment", {})
    if isinstance(environment, list):
        names |= {item.split("=", 1)[0] for item in environment}
    else:
        names |= set(environment)
    # HELPDESK_X_FILE is turned into HELPDESK_X by the image's entry point.
    return names | {n.removesuffix("_FILE") for n in names if n.endswith("_FILE")}


@pytest.mark.parametrize("service", SERVICES)
def test_compose_provides_every_setting(service: str) -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    provided = compose_env(compose["services"][service], COMPOSE.parent)
    exempt = {var for (svc, var) in UNSET_IN_COMPOSE if svc == service}
    missing = reads(service) - provided - exempt
    assert not missing, f"{service} reads {sorted(missing)} but {COMPOSE} does not set them"


def test_no_setting_is_provided_that_no_service_reads() -> None:
    """Catches typos such as HELPDESK_SMPT_HOST, once every service has its Settings."""
    if any(settings_class(s) is ServiceSettings for s in SERVICES):
        pytest.skip("a service has no settings module yet; the reverse check needs all four")
    read_anywhere = set().union(*(reads(s) for s in SERVICES))
    provided: set[str] = set()
    for overlay in OVERLAYS:
        docs = render(overlay)
        for service in SERVICES:
            for c in deployment(docs, service)["spec"]["template"]["spec"]["containers"]:
                provided |= container_env(docs, c)
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    for service in SERVICES:
        provided |= compose_env(compose["services"][service], COMPOSE.parent)
    unknown = {n for n in provided if n.startswith("HELPDESK_") and not n.endswith("_FILE")}
    unknown -= read_anywhere
    assert not unknown, f"set in deploy/ but read by no service: {sorted(unknown)}"


def test_stateful_services_get_their_own_database() -> None:
    docs = render("prod")
    for service in STATEFUL:
        main = deployment(docs, service)["spec"]["template"]["spec"]["containers"][0]
        url = next(e["value"] for e in main["env"] if e["name"] == "HELPDESK_DATABASE_URL")
        assert url.endswith(f"/{service}?sslmode=require")
        refs = {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in main["env"]
            if "secretKeyRef" in e.get("valueFrom", {}) and e["name"].startswith("DATABASE_")
        }
        assert refs == {f"helpdesk-db-{service}"}
    roles = find(docs, "Cluster", "helpdesk-db")["spec"]["managed"]["roles"]
    assert {r["name"]: r["passwordSecret"]["name"] for r in roles} == {
        s: f"helpdesk-db-{s}" for s in STATEFUL
    }
    databases = {d["spec"]["name"]: d["spec"]["owner"] for d in docs if d["kind"] == "Database"}
    assert databases == {s: s for s in STATEFUL}
