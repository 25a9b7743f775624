"""Headless Chromium for the web-page tests: a page's ``#selftest=`` hook writes what it computes
into the DOM, which ``--dump-dom`` hands back for comparison with torch."""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
)


def run_chromium(url: str, folder: Path, *options: str) -> str:
    """Run headless Chromium on ``url`` with a fresh profile under ``folder``; its output."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=folder)
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *options,
        url,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"Chromium did not finish within 60 s on {url[:120]}")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def selftest(page: Path, folder: Path, cases: dict[str, Any]) -> dict[str, Any]:
    """What ``page`` computes for ``cases``, read back from its ``<pre id="selftest">``."""
    payload = base64.urlsafe_b64encode(json.dumps(cases).encode()).decode().rstrip("=")
    dom = run_chromium(f"{page.as_uri()}#selftest={payload}", folder, "--dump-dom")
    found = re.search(r'<pre id="selftest"[^>]*>(.*?)</pre>', dom, re.DOTALL)
    assert found, "the page wrote no selftest result:\n" + dom[-2000:]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    assert "error" not in result, result.get("error")
    return result
