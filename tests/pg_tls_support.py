"""A PostgreSQL server of the test's own that speaks only TLS, with a self-signed CA.

:func:`tls_postgres` makes a certificate authority and a server certificate for ``localhost``
(and a second, unrelated CA to be the wrong one) with the ``cryptography`` package, runs
``initdb`` into a temporary directory, and starts the server on a free port with ``ssl=on``
and a ``pg_hba.conf`` that accepts TCP connections only over TLS (``hostssl``, password
authentication; no ``host`` line). The shared server on 5432 is never touched.

PostgreSQL refuses to run as root: as root (CI), the server runs as the ``postgres`` user
(Debian's package creates it), else ``nobody``, through ``runuser``. The binaries are
searched in ``/usr/lib/postgresql/*/bin``, then ``pg_config --bindir``, then the PATH.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "ledger_tls"
PASSWORD = "p@ss w:rd/1"  # characters that must be percent-encoded in a URL
DATABASE = "ledger_tls"


@dataclass(frozen=True)
class TlsPostgres:
    port: int
    ca: Path
    wrong_ca: Path
    log: Path

    def url(self, hosts: str | None = None, **query: str) -> str:
        """``postgresql://`` URL of this server (or of ``hosts``: ``h1:p1,h2:p2``)."""
        where = hosts or f"localhost:{self.port}"
        tail = f"?{urlencode(query)}" if query else ""
        return f"postgresql://{USER}:{quote(PASSWORD, safe='')}@{where}/{DATABASE}{tail}"


def postgres_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl`` (newest version), None when not installed."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, check=True)
            candidates.append(Path(out.stdout.decode().strip()))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
) -> x509.Certificate:
    """A CA certificate (``issuer`` None: self-signed) or a server one for ``localhost``."""
    now = dt.datetime.now(dt.UTC)
    issuer_name, signing_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    else:  # the name libpq checks under verify-full: localhost only, not 127.0.0.1
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), False
        )
    return builder.sign(signing_key, hashes.SHA256())


def _write_pem(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _make_certificates(folder: Path) -> tuple[Path, Path, Path, Path]:
    """(CA, wrong CA, server certificate, server key) in ``folder``."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("ledger test CA", ca_key, None)
    wrong_key = ec.generate_private_key(ec.SECP256R1())
    wrong = _certificate("some other CA", wrong_key, None)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("localhost", server_key, ("ledger test CA", ca_key))
    paths = (
        folder / "ca.pem",
        folder / "wrong-ca.pem",
        folder / "server.crt",
        folder / "server.key",
    )
    _write_pem(paths[0], ca)
    _write_pem(paths[1], wrong)
    _write_pem(paths[2], server)
    paths[3].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


def _run(command: list[str], user: pwd.struct_passwd | None, **kwargs: object) -> None:
    if user is not None:
        command = ["runuser", "-u", user.pw_name, "--", *command]
    subprocess.run(command, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


@contextlib.contextmanager
def tls_postgres(bindir: Path) -> Iterator[TlsPostgres]:
    """Start the server (see the module doc); stop it and remove its files afterwards."""
    base = Path(tempfile.mkdtemp(prefix="ledger-pg-tls-"))
    base.chmod(0o755)  # the server's user must reach its files; the client reads the CAs
    data, run = base / "data", base / "run"
    user = _server_user()
    started = False
    try:
        ca, wrong_ca, cert, key = _make_certificates(base)
        run.mkdir()
        if user is not None:
            for path in (run, cert, key):
                os.chown(path, user.pw_uid, user.pw_gid)
        key.chmod(0o600)
        data.mkdir(mode=0o700)
        if user is not None:
            os.chown(data, user.pw_uid, user.pw_gid)
        _run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions"],
            user,
        )  # fmt: skip
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all ::1/128 scram-sha-256\n"
        )
        port = _free_port()
        options = " ".join(
            [
                f"-p {port}",
                f"-k {run}",
                "-c listen_addresses=localhost",
                "-c ssl=on",
                f"-c ssl_cert_file={cert}",
                f"-c ssl_key_file={key}",
                "-c max_connections=100",
                "-c shared_buffers=16MB",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        log = base / "server.log"
        log.touch()
        if user is not None:
            os.chown(log, user.pw_uid, user.pw_gid)
        _run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
             "-o", options, "start"],
            user,
        )  # fmt: skip
        started = True
        with psycopg.connect(
            host=str(run), port=port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(
                f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'"  # our own constant
            )
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {USER}")
        yield TlsPostgres(port=port, ca=ca, wrong_ca=wrong_ca, log=log)
    finally:
        if started:
            with contextlib.suppress(subprocess.CalledProcessError):
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], user)
        shutil.rmtree(base, ignore_errors=True)
