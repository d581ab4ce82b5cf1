"""A real OpenLDAP `slapd` for the tests, unprivileged on a free loopback port,
with StartTLS from a throw-away CA (docs/sso.md; TOOLING.md). Binds without TLS
are refused by the server too (`security simple_bind=128`), as AD refuses them."""

from __future__ import annotations

import base64
import ipaddress
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helpdesk.devstack.servers import free_port, stop_process, wait_for_port
from tests.sso.certificates import certificate, write_key, write_pem

SUFFIX = "dc=example,dc=gr"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "slapd-root-secret"
SERVICE_DN = f"cn=helpdesk,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "helpdesk-service-secret"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = "helpdesk test CA"
    ca_only = x509.BasicConstraints(ca=True, path_length=None)
    ca = certificate(ca_name, ca_key.public_key(), ca_name, ca_key, (ca_only, True))
    key = ec.generate_private_key(ec.SECP256R1())
    loopback = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = certificate("127.0.0.1", key.public_key(), ca_name, ca_key, (loopback, False))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    write_pem(paths[0], ca)
    write_pem(paths[1], cert)
    write_key(paths[2], key, serialization.PrivateFormat.PKCS8)
    return paths


def _value(attribute: str, value: str) -> str:
    """An LDIF line; non-ASCII values (Greek names) base64 as LDIF requires."""
    if value.isascii() and not value.startswith((" ", ":", "<")):
        return f"{attribute}: {value}"
    return f"{attribute}:: {base64.b64encode(value.encode()).decode()}"


def _ldif(people: list[dict[str, str]], groups: dict[str, list[str]]) -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example",
        f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups",
        f"dn: ou=services,{SUFFIX}\nobjectClass: organizationalUnit\nou: services",
        f"dn: {SERVICE_DN}\nobjectClass: person\ncn: helpdesk\nsn: helpdesk\n"
        f"userPassword: {SERVICE_PASSWORD}",
    ]
    for p in people:
        entries.append(
            f"dn: uid={p['uid']},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\n"
            f"uid: {p['uid']}\n{_value('cn', p['cn'])}\n{_value('sn', p['cn'].split()[-1])}\n"
            f"mail: {p['mail']}\n{_value('userPassword', p['password'])}"
        )
    for name, members in groups.items():
        lines = [f"dn: cn={name},ou=groups,{SUFFIX}", "objectClass: groupOfNames", f"cn: {name}"]
        lines += [f"member: uid={m},ou=people,{SUFFIX}" for m in members]
        entries.append("\n".join(lines))
    return "\n\n".join(entries) + "\n"


def slapd_available() -> bool:
    return Path("/usr/sbin/slapd").exists() and shutil.which("ldapmodify") is not None


@dataclass
class Slapd:
    directory: Path
    port: int
    ca_file: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def connection(self) -> dict[str, str]:
        """Identity's settings that bind to this server (HELPDESK_ and upper case in
        the environment): the service account, where people and groups are."""
        return {
            "ldap_url": self.url,
            "ldap_ca_file": str(self.ca_file),
            "ldap_bind_dn": SERVICE_DN,
            "ldap_bind_password": SERVICE_PASSWORD,
            "ldap_base_dn": f"ou=people,{SUFFIX}",
            "ldap_group_base_dn": f"ou=groups,{SUFFIX}",
        }

    @classmethod
    def start(cls, people: list[dict[str, str]], groups: dict[str, list[str]]) -> Slapd:
        # Its own folder under /tmp: slapd runs as nobody, who cannot enter pytest's
        # 0700 temporary folders.
        directory = Path(tempfile.mkdtemp(prefix="helpdesk-slapd-"))
        directory.chmod(0o755)
        ca, cert, key = certificates(directory)
        (directory / "db").mkdir()
        includes = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in SCHEMAS)
        (directory / "slapd.conf").write_text(
            f"{includes}\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\n"
            f"pidfile {directory}/slapd.pid\n"
            f"TLSCACertificateFile {ca}\nTLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n"
            "security simple_bind=128\n"
            f"database mdb\nsuffix {SUFFIX}\nrootdn {ROOT_DN}\nrootpw {ROOT_PASSWORD}\n"
            f"directory {directory}/db\nmaxsize 10485760\n"
            "access to attrs=userPassword by anonymous auth by * none\n"
            "access to * by users read by * none\n"
        )
        (directory / "seed.ldif").write_text(_ldif(people, groups))
        subprocess.run(
            ["slapadd", "-f", str(directory / "slapd.conf"), "-l", str(directory / "seed.ldif")],
            check=True,
            capture_output=True,
        )
        shutil.chown(directory, "nobody")
        for path in directory.rglob("*"):
            shutil.chown(path, "nobody")
        port = free_port()
        process = subprocess.Popen(
            [
                *("/usr/sbin/slapd", "-d", "0", "-u", "nobody", "-g", "nogroup"),
                *("-f", str(directory / "slapd.conf"), "-h", f"ldap://127.0.0.1:{port}/"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port, timeout=10)
        return cls(directory, port, ca, process)

    def modify(self, ldif: str) -> None:
        """Change the directory as its administrators would (ldapmodify over StartTLS)."""
        subprocess.run(
            ["ldapmodify", "-ZZ", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=ldif.encode(),
            check=True,
            capture_output=True,
            env={"LDAPTLS_CACERT": str(self.ca_file), "PATH": "/usr/bin:/bin"},
        )

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.directory, ignore_errors=True)
