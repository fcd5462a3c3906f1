"""Headless Chromium for the page tests: Debian's chromium driven by Playwright, and screenshots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched browser (Playwright's bundled browsers are not used: no downloads)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("Debian's chromium is needed: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def new_page(browser: Any, locale: str = "zh-CN") -> Any:
    context = browser.new_context(locale=locale, viewport={"width": 1100, "height": 1300})
    context.set_default_timeout(30_000)
    return watch(context.new_page())


# How Chromium reports what the pages' Content-Security-Policy refused (inline script or style, a
# connection, a frame, a Trusted Types sink) on the console.
_CSP_REPORTS = ("Content Security Policy", "TrustedHTML", "TrustedScript", "Trusted Type")


def watch(page: Any) -> Any:
    """`page.js_errors`: script errors and CSP violations, checked at the end (a script error or a
    refused inline script is a failure even if the page looked fine); `page.csp_violations`: the latter."""
    errors: list[str] = []
    violations: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error" and any(s in message.text for s in _CSP_REPORTS):
            violations.append(message.text)
            errors.append(f"CSP: {message.text}")

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", console)
    page.js_errors = errors
    page.csp_violations = violations
    return page


def shot(page: Any, name: str, prefix: str = "web") -> None:
    """A full-page screenshot in test-artifacts/<prefix>-<name>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{prefix}-{name}.png"), full_page=True)
