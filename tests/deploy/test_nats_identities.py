"""deploy/: NATS runs with authentication in Kubernetes and compose. The server
configuration includes the rendered authorization block, every pod mounts the
seed of its own identity, and the dev overlay's EXAMPLE block matches its
EXAMPLE seeds (re-render with `helpdesk nats-keys render` when it does not)."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpdesk.devstack.servers import nats_server_binary
from helpdesk.servicekit import nats_auth
from tests.deploy.manifests import DEPLOY, OVERLAYS, SERVICES, STATEFUL, find, render
from tests.deploy.test_env_coverage import COMPOSE

pytestmark = pytest.mark.deploy

EXAMPLES = DEPLOY / "k8s" / "overlays" / "dev" / "example-secrets"
EXAMPLE_KEYS = EXAMPLES / "nats-keys.EXAMPLE"
EXAMPLE_AUTH = EXAMPLES / "nats-auth.EXAMPLE.conf"
SEED_DIR = "/etc/helpdesk/nats"


def test_the_example_authorization_block_matches_the_example_seeds() -> None:
    expected = nats_auth.render_authorization(nats_auth.users_in(EXAMPLE_KEYS))
    assert EXAMPLE_AUTH.read_text(encoding="utf-8") == expected, (
        "stale: .venv/bin/helpdesk nats-keys render "
        f"{EXAMPLE_KEYS.relative_to(DEPLOY.parent)} > {EXAMPLE_AUTH.relative_to(DEPLOY.parent)}"
    )
    assert {u.identity for u in nats_auth.users_in(EXAMPLE_KEYS)} == set(nats_auth.IDENTITIES)


def _secret_data(docs: tuple[dict[str, Any], ...], name: str, key: str) -> bytes:
    return base64.b64decode(find(docs, "Secret", name)["data"][key])


def test_the_kubernetes_nats_configuration_is_valid_and_includes_the_users(
    tmp_path: Path,
) -> None:
    docs = render("dev")
    conf = find(docs, "ConfigMap", "helpdesk-nats-config")["data"]["nats.conf"]
    assert "include auth.conf" in conf
    (tmp_path / "nats.conf").write_text(conf)
    (tmp_path / "auth.conf").write_bytes(_secret_data(docs, "helpdesk-nats-auth", "auth.conf"))
    checked = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(tmp_path / "nats.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "SERVER_NAME": "helpdesk-nats-0"},
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Both files in one directory of the NATS pod, so the relative include resolves.
    for overlay in OVERLAYS:
        pod = find(render(overlay), "StatefulSet", "helpdesk-nats")["spec"]["template"]["spec"]
        config = next(v for v in pod["volumes"] if v["name"] == "config")
        sources = config["projected"]["sources"]
        assert {"name": "helpdesk-nats-config"} in [s.get("configMap") for s in sources]
        assert any(s.get("secret", {}).get("name") == "helpdesk-nats-auth" for s in sources)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_every_pod_mounts_the_seed_of_its_own_identity(overlay: str, service: str) -> None:
    docs = render(overlay)
    pod = find(docs, "Deployment", f"helpdesk-{service}")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "nats-creds")
    assert volume["secret"]["secretName"] == f"helpdesk-nats-{service}"
    assert volume["secret"]["items"] == [{"key": "seed", "path": "seed.nk"}]
    assert volume["secret"]["defaultMode"] & 0o007 == 0, "a seed readable by others"
    containers = list(pod.get("initContainers", [])) + list(pod["containers"])
    if service in STATEFUL:
        assert len(containers) == 2, "the setup step connects to NATS as the service too"
    for container in containers:
        mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
        assert mounts["nats-creds"]["mountPath"] == SEED_DIR
        assert mounts["nats-creds"].get("readOnly") is True
    # The shared settings (a ConfigMap with a content hash in its name).
    shared = [
        d["data"]
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("helpdesk-config")
    ]
    assert [c["HELPDESK_NATS_CREDS"] for c in shared] == [f"{SEED_DIR}/seed.nk"]
    if overlay == "dev":
        seed = _secret_data(docs, f"helpdesk-nats-{service}", "seed")
        auth = _secret_data(docs, "helpdesk-nats-auth", "auth.conf").decode()
        public = nats_auth.public_key(nats_auth.parse_seed(seed))
        assert f"    # {service}\n    {{\n      nkey: {public}\n" in auth


def test_compose_runs_nats_with_the_users_and_each_service_as_itself() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    nats = compose["services"]["nats"]
    assert "--config" in nats["command"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in nats["volumes"] if ":" in v}
    config = nats["command"][nats["command"].index("--config") + 1]
    assert (COMPOSE.parent / mounted[config]).resolve() == EXAMPLE_AUTH.resolve()
    for service in (*SERVICES, "cli"):
        identity = "operator" if service == "cli" else service
        spec = compose["services"][service]
        secret = f"nats_{identity}"
        assert secret in spec["secrets"], service
        assert spec["environment"]["HELPDESK_NATS_CREDS"] == f"/run/secrets/{secret}"
        path = COMPOSE.parent / compose["secrets"][secret]["file"]
        assert path.resolve() == (EXAMPLE_KEYS / f"{identity}.nk").resolve()
