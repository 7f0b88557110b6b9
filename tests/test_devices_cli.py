"""``patrolwise devices add|list|revoke`` run as the real command on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from patrolwise.store import Store
from patrolwise.store.devices import device_for_secret, get_device


def _run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATROLWISE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", "devices", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_device_ids_with_brackets(sqlite_url: str) -> None:
    # found by QA: the commands printed device ids as Rich markup, so `devices add 'ph[/x]'`
    # registered the device and then crashed (MarkupError) before printing its secret: the
    # device existed with a secret nobody had. `devices list` then crashed for every device,
    # `devices revoke` crashed after revoking, and '[bold]ph' was echoed as 'ph'
    r = _run(sqlite_url, "add", "ph[/x]", "--team", "police")
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip().splitlines()[-1]
    assert "device ph[/x] registered to police" in r.stderr
    with Store(sqlite_url) as st:
        owner = device_for_secret(st, secret)
        assert owner is not None and owner.device_id == "ph[/x]"
    r = _run(sqlite_url, "add", "[bold]ph", "--team", "Outreach")
    assert r.returncode == 0 and "device [bold]ph registered to outreach" in r.stderr, r.stderr
    r = _run(sqlite_url, "list")
    assert r.returncode == 0, r.stderr
    assert "ph[/x]" in r.stdout and "[bold]ph" in r.stdout
    r = _run(sqlite_url, "list", "--json")
    assert [d["device_id"] for d in json.loads(r.stdout)] == ["[bold]ph", "ph[/x]"]
    r = _run(sqlite_url, "revoke", "ph[/x]")
    assert r.returncode == 0 and "device ph[/x] revoked" in r.stderr, r.stderr
    with Store(sqlite_url) as st:
        info = get_device(st, "ph[/x]")
        assert info is not None and info.revoked


def test_error_lines_print_what_the_user_typed(sqlite_url: str) -> None:
    """Error lines are plain text: revoking an unknown 'x[/y]' printed a MarkupError traceback
    (every command's error line went through Rich markup), and '[bold]q' lost its brackets."""
    for dev in ("x[/y]", "[bold]q"):
        r = _run(sqlite_url, "revoke", dev)
        assert r.returncode == 2, r.stderr
        assert "Traceback" not in r.stderr
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and dev in lines[0], r.stderr
