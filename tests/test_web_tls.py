"""``patrolwise serve`` over HTTPS: device secrets and staff positions encrypted on the wire.

The real command runs in a subprocess with a throwaway self-signed certificate made here, and
a Traccar Client request goes to it over TLS trusting only that certificate. Bad TLS options
fail before the app loads, with one ``error:`` line and exit code 2; plain HTTP on an address
other machines can reach prints a warning.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from patrolwise.store import Store
from patrolwise.store.devices import add_device
from patrolwise.store.pings import load_pings
from patrolwise.web.tls import check_cert_and_key, is_loopback, plain_http_warning

from .test_web_ingest import T0, T0_UTC, free_port, serve_process

PASSWORD_ENV = "PATROLWISE_SSL_KEYFILE_PASSWORD"
#: TEST-NET-1 (RFC 5737): never a local address, so binding it fails after the warning and no
#: test server ever listens where other machines could reach it
NOT_LOCAL = "192.0.2.1"


def make_cert(folder: Path, name: str, password: bytes | None = None) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key (encrypted with
    ``password`` if given), written as PEM files ``name.crt`` and ``name.key``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    crt, pem = folder / f"{name}.crt", folder / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return crt, pem


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    """``patrolwise serve ARGS`` run to its end (it must fail or stop by itself)."""
    return subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("encrypted", [False, True], ids=["key", "encrypted-key"])
def test_traccar_ping_over_https_reaches_the_store(
    sqlite_url: str, tmp_path: Path, encrypted: bool
) -> None:
    password = b"correct horse battery staple" if encrypted else None
    crt, key = make_cert(tmp_path, "server", password)
    with Store(sqlite_url) as st:
        secret = str(add_device(st, "phone1", "outreach"))
    env = {**os.environ, "PATROLWISE_DATABASE_URL": sqlite_url}
    env.pop(PASSWORD_ENV, None)
    if password:
        env[PASSWORD_ENV] = password.decode()
    # the startup message names the https:// URL
    proc, port, lines, reader = serve_process(
        env, "--ssl-certfile", str(crt), "--ssl-keyfile", str(key), scheme="https"
    )
    try:
        trusted = ssl.create_default_context(cafile=str(crt))
        # Traccar Client: a form-encoded POST, the secret in the server URL's ?token=
        body = f"id=phone1&timestamp={T0}&lat=52.6369&lon=-1.1398&speed=2.0&accuracy=5.0"
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        r = httpx.post(
            f"https://127.0.0.1:{port}/ingest/osmand?token={secret}",
            content=body,
            headers=form,
            verify=trusted,
        )
        assert r.status_code == 200 and r.content == b"", r.text
        r = httpx.get(f"https://localhost:{port}/health", verify=trusted)
        assert r.json() == {"status": "ok"}
        # the server speaks only TLS: a plain-HTTP request (another ping) gets no answer
        later = body.replace(str(T0), str(T0 + 60))
        with pytest.raises(httpx.TransportError):
            httpx.post(
                f"http://127.0.0.1:{port}/ingest/osmand?token={secret}",
                content=later,
                headers=form,
            )
        # and a client that does not trust the certificate refuses it
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{port}/health")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=30)
    with Store(sqlite_url) as st:
        pings = load_pings(st, devices=["phone1"])
    assert len(pings) == 1  # the plain-HTTP ping stored nothing
    p = pings.iloc[0]
    assert p["t"] == T0_UTC
    assert (p["lat"], p["lon"], p["accuracy"]) == (52.6369, -1.1398, 5.0)
    out = b"".join(lines).decode()
    assert "warning:" not in out, out
    assert secret not in out  # the access log redacts ?token= over HTTPS too


def test_bad_tls_options_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crt, key = make_cert(tmp_path, "server")
    _, other_key = make_cert(tmp_path, "other")
    enc_crt, enc_key = make_cert(tmp_path, "enc", b"s3cret")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    cases = [
        (["--ssl-certfile", str(crt)], "--ssl-certfile needs --ssl-keyfile"),
        (["--ssl-keyfile", str(key)], "--ssl-keyfile needs --ssl-certfile"),
        (
            ["--ssl-certfile", str(tmp_path / "nope.crt"), "--ssl-keyfile", str(key)],
            "nope.crt: no such file",
        ),
        (
            ["--ssl-certfile", str(crt), "--ssl-keyfile", str(tmp_path / "nope.key")],
            "nope.key: no such file",
        ),
        (
            ["--ssl-certfile", str(crt), "--ssl-keyfile", str(other_key)],
            "is not the key of the certificate",
        ),
        (["--ssl-certfile", str(key), "--ssl-keyfile", str(crt)], "holds no PEM certificate"),
        (["--ssl-certfile", str(junk), "--ssl-keyfile", str(key)], "holds no PEM certificate"),
        (["--ssl-certfile", str(crt), "--ssl-keyfile", str(junk)], "is not a PEM private key"),
        (["--ssl-certfile", str(crt), "--ssl-keyfile", str(tmp_path)], "not a file"),
        (
            ["--ssl-certfile", str(enc_crt), "--ssl-keyfile", str(enc_key)],
            f"is encrypted: put its password in {PASSWORD_ENV}",
        ),
    ]
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    for args, reason in cases:
        r = _serve(*args)
        assert r.returncode == 2, (args, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, r.stderr)
        assert reason in lines[0], (args, r.stderr)
        assert r.stdout == ""
    # a wrong password for the encrypted key
    env = {**os.environ, PASSWORD_ENV: "wrong"}
    r = subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", "serve"]
        + ["--ssl-certfile", str(enc_crt), "--ssl-keyfile", str(enc_key)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"or {PASSWORD_ENV} is not its password" in r.stderr
    # every refusal came before the app opened the store (./patrolwise.db, the default)
    assert not (tmp_path / "patrolwise.db").exists()


def test_check_cert_and_key(tmp_path: Path) -> None:
    crt, key = make_cert(tmp_path, "server")
    enc_crt, enc_key = make_cert(tmp_path, "enc", b"s3cret")
    assert check_cert_and_key(None, None, None) is False
    assert check_cert_and_key(str(crt), str(key), None) is True
    assert check_cert_and_key(str(crt), str(key), "unused") is True  # a plain key needs none
    assert check_cert_and_key(str(enc_crt), str(enc_key), "s3cret") is True
    # one file holding the certificate and then its key serves as both
    both = tmp_path / "both.pem"
    both.write_bytes(crt.read_bytes() + key.read_bytes())
    assert check_cert_and_key(str(both), str(both), None) is True


def test_plain_http_warns_only_off_loopback() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LocalHost.", "::ffff:127.0.0.1"):  # fmt: skip
        assert is_loopback(host), host
        assert plain_http_warning(host) is None, host
    for host in ("0.0.0.0", "::", "", "192.168.1.20", "10.0.0.5", "fe80::1", "patrol.example"):
        assert not is_loopback(host), host
        w = plain_http_warning(host)
        assert w is not None and "unencrypted" in w, host
        assert "--ssl-certfile" in w and "--ssl-keyfile" in w and "reverse proxy" in w


def test_serve_warns_before_plain_http_on_a_network_address(tmp_path: Path) -> None:
    # the real command: plain HTTP on a network address prints the warning on stderr (binding
    # TEST-NET-1 then fails, so nothing listens); with TLS it is quiet
    port = str(free_port())
    r = _serve("--host", NOT_LOCAL, "--port", port)
    assert r.returncode != 0  # no such local address
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1, r.stderr
    assert f"plain HTTP on {NOT_LOCAL}" in warnings[0] and "unencrypted" in warnings[0]
    assert "--ssl-certfile and --ssl-keyfile" in warnings[0] and "reverse proxy" in warnings[0]
    crt, key = make_cert(tmp_path, "server")
    tls = ["--ssl-certfile", str(crt), "--ssl-keyfile", str(key)]
    r = _serve("--host", NOT_LOCAL, "--port", port, *tls)
    assert r.returncode != 0 and "warning:" not in r.stderr, r.stderr
    assert "cannot assign requested address" in r.stderr.lower(), r.stderr
