#!/usr/local/bin/python3
"""The official postgres image's contract, enough for compose.yaml: on an empty
$PGDATA, initdb with POSTGRES_USER/POSTGRES_PASSWORD (scram-sha-256 over TCP) and
create POSTGRES_DB; then run postgres as the postgres user, listening on 5432."""

import os
import pwd
import subprocess
import sys
import tempfile
from pathlib import Path

data = Path(os.environ.get("PGDATA", "/var/lib/postgresql/data"))
user = os.environ.get("POSTGRES_USER", "postgres")
password = os.environ["POSTGRES_PASSWORD"]
database = os.environ.get("POSTGRES_DB", user)

pg = pwd.getpwnam("postgres")
if os.getuid() == 0:
    data.mkdir(parents=True, exist_ok=True)
    for path in (data, Path("/var/run/postgresql")):
        os.chown(path, pg.pw_uid, pg.pw_gid)
    os.chmod(data, 0o700)
    os.setgid(pg.pw_gid)
    os.setuid(pg.pw_uid)
os.environ["HOME"] = pg.pw_dir

if not (data / "PG_VERSION").exists():
    print(f"postgres stand-in: initdb {data}", flush=True)
    with tempfile.NamedTemporaryFile("w", dir="/tmp", delete=False) as pwfile:
        pwfile.write(password)
    subprocess.run(  # noqa: S603
        [  # noqa: S607
            "initdb",
            "-D",
            str(data),
            "-U",
            user,
            f"--pwfile={pwfile.name}",
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.unlink(pwfile.name)
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write("host all all all scram-sha-256\n")
    if database != "postgres":
        subprocess.run(  # noqa: S603
            ["postgres", "--single", "-D", str(data), "-j", "postgres"],  # noqa: S607
            input=f'CREATE DATABASE "{database}" OWNER "{user}";\n',
            text=True,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    print("postgres stand-in: initialised", flush=True)

os.execvp(  # noqa: S606
    "postgres",  # noqa: S607
    [
        "postgres",
        "-D",
        str(data),
        "-c",
        "listen_addresses=*",
        "-p",
        "5432",
        "-c",
        "unix_socket_directories=/var/run/postgresql,/tmp",
        *sys.argv[1:],
    ],
)
