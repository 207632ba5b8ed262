"""Fixtures for the browser tests: Chromium, a JupyterLab server, pages that leave evidence.

Chromium is Debian's /usr/bin/chromium driven by Python Playwright (never a downloaded
browser). Without it the tests fail and say how to install it (``.ci/install-browser``, which
the README's test command runs first); ``CS231N_SKIP_BROWSER=1`` skips them on purpose.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .lab import copy_notebooks, running_lab
from .notebook_page import VIEWPORT, LabWindow

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
FIXTURE_NOTEBOOKS = ("fixture_widgets.ipynb", "fixture_broken.ipynb")
FIXTURE_DIR = "browser_fixtures"  # where the fixture notebooks sit in the server's root


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; install it with .ci/install-browser"
        if os.environ.get("CS231N_SKIP_BROWSER", "") == "1" and not in_ci():
            pytest.skip(f"{message} (skipped: CS231N_SKIP_BROWSER=1)")
        pytest.fail(f"{message}, or set CS231N_SKIP_BROWSER=1 to skip the browser tests")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_executable):
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(
            executable_path=str(chromium_executable), args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.stop()


@pytest.fixture(scope="session")
def course_lab(tmp_path_factory):
    """JupyterLab serving output-free copies of notebooks/ and of the fixture notebooks."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    if (REPO / "notebooks").is_dir():
        copy_notebooks(REPO / "notebooks", root / "notebooks")
    if (REPO / "datasets").is_dir():
        (root / "datasets").symlink_to(REPO / "datasets")  # as beside the real notebooks
    copy_notebooks(HERE, root / FIXTURE_DIR, FIXTURE_NOTEBOOKS)
    with running_lab(root, base / "state") as lab:
        yield lab


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextlib.contextmanager
def lab_window_for(browser, lab):
    """A browser context with JupyterLab loaded from ``lab``; closed on exit."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    try:
        window = LabWindow(context.new_page(), lab)

        def on_console(message) -> None:
            if message.type in ("error", "warning"):
                window.console.append(f"{message.type}: {message.text}")

        window.page.on("console", on_console)
        window.page.on("pageerror", lambda exc: window.console.append(f"pageerror: {exc}"))
        window.load()
        yield window
    finally:
        context.close()


@pytest.fixture(scope="session")
def course_window(browser, course_lab):
    with lab_window_for(browser, course_lab) as window:
        yield window


@pytest.fixture
def lab_window(course_window):
    """The JupyterLab window tests open notebooks in (a test module may override it)."""
    return course_window


@dataclass
class PageSession:
    """The window a test uses, and callables that describe the page if the test fails."""

    window: LabWindow
    evidence: list[Callable[[], str]] = field(default_factory=list)
    show_trouble: list[Callable[[], None]] = field(default_factory=list)  # before screenshot

    @property
    def page(self):
        return self.window.page


@pytest.fixture
def page_session(lab_window, request, artifacts):
    """The test's view of the JupyterLab window. On failure a full-page screenshot and the
    page's error outputs are saved as artifacts/browser/FAILED-<test>.png and .txt, and
    JupyterLab is reloaded so the next test starts clean."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for old in artifacts.glob(f"FAILED-{name}.*"):
        old.unlink()
    lab_window.console.clear()
    session = PageSession(lab_window)
    yield session
    reports = (getattr(request.node, f"rep_{when}", None) for when in ("setup", "call"))
    failed = [r for r in reports if r is not None and r.failed]
    if failed:
        _save_failure_evidence(session, artifacts / f"FAILED-{name}", failed[0].longreprtext)
        lab_window.lab.shutdown_kernels()
        lab_window.load()


def _save_failure_evidence(session: PageSession, stem: Path, failure: str) -> None:
    for show in session.show_trouble:
        with contextlib.suppress(Exception):
            show()
    with contextlib.suppress(Exception):
        session.page.screenshot(path=str(stem.with_suffix(".png")))
    parts = ["--- failure ---\n" + failure[-4000:]]
    for describe in session.evidence:
        try:
            parts.append(describe())
        except Exception as exc:  # the page may be gone; say so and keep the rest
            parts.append(f"(could not describe the page: {exc})")
    parts.append("--- browser console (errors and warnings) ---")
    parts += session.window.console
    stem.with_suffix(".txt").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
