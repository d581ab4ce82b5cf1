"""A real Active Directory for the tests: Samba 4 as a domain controller,
provisioned into a folder of its own and serving LDAPS on 127.0.0.1:636 with a
certificate from the tests' own CA (tests/sso/slapd.py makes it). It binds a
privileged port, so only root runs it (TOOLING.md); only its LDAP server runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from helpdesk.devstack.servers import stop_process, wait_for_port
from tests.sso.slapd import certificates

REALM = "HELPDESK.TEST"
DOMAIN = "HELPDESK"
BASE = "DC=helpdesk,DC=test"
ADMIN_DN = f"CN=Administrator,CN=Users,{BASE}"
ADMIN_PASSWORD = "Helpdesk-AD-admin-1"
LDAPS_PORT = 636


def samba_available() -> bool:
    return os.geteuid() == 0 and shutil.which("samba") is not None


@dataclass
class SambaAd:
    folder: Path
    ca_file: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ldaps://127.0.0.1:{LDAPS_PORT}"

    def connection(self) -> dict[str, str]:
        """Identity's settings that bind to this domain controller (as its administrator;
        people and groups both in CN=Users)."""
        return {
            "ldap_url": self.url,
            "ldap_ca_file": str(self.ca_file),
            "ldap_bind_dn": ADMIN_DN,
            "ldap_bind_password": ADMIN_PASSWORD,
            "ldap_base_dn": f"CN=Users,{BASE}",
            "ldap_group_base_dn": f"CN=Users,{BASE}",
        }

    def tool(self, *args: str) -> None:
        subprocess.run(
            ["samba-tool", *args, "-s", str(self.folder / "etc" / "smb.conf")],
            check=True,
            capture_output=True,
            timeout=60,
        )

    @classmethod
    def start(
        cls, people: list[tuple[str, str, str, str]], groups: dict[str, list[str]]
    ) -> SambaAd:
        """`people`: (sAMAccountName, given name, surname, password) each."""
        folder = Path(tempfile.mkdtemp(prefix="helpdesk-samba-"))
        ca, cert, key = certificates(folder)
        key.chmod(0o600)
        subprocess.run(
            [
                *("samba-tool", "domain", "provision", f"--targetdir={folder}"),
                *(f"--realm={REALM}", f"--domain={DOMAIN}", "--server-role=dc"),
                *("--dns-backend=NONE", f"--adminpass={ADMIN_PASSWORD}"),
                *("--option=server services = ldap", "--option=interfaces = lo"),
                *("--option=bind interfaces only = yes", "--option=tls enabled = yes"),
                *(f"--option=tls keyfile = {key}", f"--option=tls certfile = {cert}"),
                f"--option=tls cafile = {ca}",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        ad = cls(folder, ca, subprocess.Popen(["true"]))
        for sam, given, surname, password in people:
            ad.tool(
                *("user", "create", sam, password, f"--given-name={given}"),
                *(f"--surname={surname}", f"--mail-address={sam}@helpdesk.test"),
            )
        for group, members in groups.items():
            ad.tool("group", "add", group)
            ad.tool("group", "addmembers", group, ",".join(members))
        ad.process = subprocess.Popen(
            ["samba", "-s", str(folder / "etc" / "smb.conf"), "-i", "-M", "single"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(LDAPS_PORT, timeout=30)
        return ad

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)
