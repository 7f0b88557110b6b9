"""HTTPS for ``patrolwise serve``: checking the certificate and key before the server starts,
and the warning for plain HTTP on a network address.

Device secrets (Basic auth, bearer tokens, ``?token=``) and staff positions are in every ingest
request, so a server other machines can reach must not speak plain HTTP. Standard library only:
the CLI imports this before it loads the web app.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from ..errors import ConfigError

#: the environment variable holding the password of an encrypted key file (an option's value
#: would show in ``ps`` and the shell's history)
PASSWORD_ENV = "PATROLWISE_SSL_KEYFILE_PASSWORD"


class _NoPassword(Exception):
    """The key file is encrypted and no password was given."""


def _no_password() -> str:
    # without a callable, OpenSSL would prompt for the password on the terminal
    raise _NoPassword


def _readable(path: str, option: str) -> None:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{option} {path}: no such file")
    if not p.is_file():
        raise ConfigError(f"{option} {path}: not a file")
    try:
        with p.open("rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot read it ({exc.strerror})") from None


def check_cert_and_key(certfile: str | None, keyfile: str | None, password: str | None) -> bool:
    """Whether to serve HTTPS: False for neither file, True for a PEM certificate (chain) and
    the private key that matches it, loaded as uvicorn will load them. Anything else raises
    :class:`ConfigError` with one line naming the option, the file and what is wrong."""
    if certfile is None and keyfile is None:
        return False
    if certfile is None or keyfile is None:
        given, missing = (
            ("--ssl-keyfile", "--ssl-certfile")
            if certfile is None
            else ("--ssl-certfile", "--ssl-keyfile")
        )
        raise ConfigError(f"{given} needs {missing} too: HTTPS takes a certificate and its key")
    _readable(certfile, "--ssl-certfile")
    _readable(keyfile, "--ssl-keyfile")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(certfile, keyfile, password if password else _no_password)
        return True
    except _NoPassword:
        raise ConfigError(
            f"--ssl-keyfile {keyfile} is encrypted: put its password in {PASSWORD_ENV}"
        ) from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise ConfigError(
                f"--ssl-keyfile {keyfile} is not the key of the certificate in "
                f"--ssl-certfile {certfile}"
            ) from None
        if exc.reason:  # e.g. EE_KEY_TOO_SMALL: OpenSSL refuses an RSA key under 2048 bits
            reason = exc.reason.lower().replace("_", " ")
            raise ConfigError(
                f"OpenSSL refuses --ssl-certfile {certfile} with --ssl-keyfile {keyfile}: {reason}"
            ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {certfile} or {keyfile}: {exc}") from None
    # OpenSSL says only "PEM lib": find which file it could not read
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_verify_locations(cafile=certfile)
    except ssl.SSLError:
        raise ConfigError(f"--ssl-certfile {certfile} holds no PEM certificate") from None
    if password:
        raise ConfigError(
            f"--ssl-keyfile {keyfile} is not a PEM private key, or {PASSWORD_ENV} is not "
            "its password"
        ) from None
    raise ConfigError(f"--ssl-keyfile {keyfile} is not a PEM private key")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (as given to ``--host``) is reachable from this machine only."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(name)
    except ValueError:
        return False  # a host name, or an interface's name: another machine can reach it
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def plain_http_warning(host: str) -> str | None:
    """The warning for serving plain HTTP on ``host``; None on a loopback address."""
    if is_loopback(host):
        return None
    return (
        f"serving plain HTTP on {host}: device secrets and staff positions will cross the "
        "network unencrypted. Give --ssl-certfile and --ssl-keyfile to serve HTTPS, or keep "
        "--host 127.0.0.1 behind a reverse proxy that terminates TLS (nginx, Caddy)."
    )
