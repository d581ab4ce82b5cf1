"""A real IMAP server for the poller's tests: Debian's dovecot-imapd, run from a
temporary directory with its own configuration (TOOLING.md's recipe)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpdesk.devstack.servers import free_port, wait_for_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def unavailable() -> str | None:
    """Why dovecot cannot run here, or None."""
    if not Path(DOVECOT).exists():
        return "dovecot is not installed (apt-get install dovecot-imapd; `make test` does)"
    for user in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"the system user {user!r} that dovecot needs does not exist"
    if os.geteuid() != 0:
        return "dovecot drops privileges to its own users: the tests must run as root"
    return None


@dataclass
class Dovecot:
    """Lives in a directory of its own under the system temp dir: dovecot's users must
    traverse every parent, and pytest's temporary directories are private (0700)."""

    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="hd-dovecot-")))
    port: int = 0
    user: str = "helpdesk"
    password: str = "imap-test-secret"

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{self.password}@127.0.0.1:{self.port}/INBOX"

    @property
    def maildir(self) -> Path:
        return self.directory / "mail" / self.user

    def start(self) -> Dovecot:
        d = self.directory
        self.port = free_port()
        for sub in ("run", "state", "mail"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "users").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        (d / "dovecot.conf").write_text(
            f"""
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = dovenull
default_internal_user = dovecot
# The mail belongs to the dovecot system user (a low UID): allow it.
first_valid_uid = {pwd.getpwnam("dovecot").pw_uid}
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
        for sub in ("cur", "new", "tmp"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(d, "dovecot", "dovecot")
        subprocess.run(["chown", "-R", "dovecot:dovecot", str(d / "mail")], check=True)
        os.chmod(d, 0o755)  # noqa: S103 (dovecot's users must traverse it)
        subprocess.run([DOVECOT, "-c", str(d / "dovecot.conf")], check=True)
        wait_for_port(self.port)
        return self

    def deliver(self, raw: bytes, name: str) -> None:
        """Drop a mail into the INBOX as a delivery agent would (Maildir `new/`)."""
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        shutil.chown(tmp, "dovecot", "dovecot")
        tmp.rename(self.maildir / "new" / f"{time.time():.0f}.{name}.helpdesk")

    def stop(self) -> None:
        pid_file = self.directory / "run" / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            subprocess.run([DOVECOT, "-c", str(self.directory / "dovecot.conf"), "stop"])
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        shutil.rmtree(self.directory, ignore_errors=True)
