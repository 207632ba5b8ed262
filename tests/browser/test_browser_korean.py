"""The Korean edition in a real browser: JupyterLab in Korean, a Korean notebook run like a
student runs it, Hangul in the page and in the plots.

The server runs with CS231N_LANG=ko and the interface language set to ko_KR (the official
language pack from requirements.txt), serving an output-free copy of notebooks/ko/01_knn.ipynb.
The screenshot is artifacts/browser/ko-01_knn.png.
"""

from __future__ import annotations

import json
import re

import pytest

from .conftest import REPO, lab_window_for
from .lab import copy_notebooks, running_lab
from .notebook_page import stored_expectations
from .student_run import run_like_a_student

pytestmark = pytest.mark.browser

NOTEBOOK = "notebooks/ko/01_knn.ipynb"
HANGUL = re.compile("[\uac00-\ud7a3]")
LOCALE_SETTING = "@jupyterlab/translation-extension/plugin.jupyterlab-settings"


@pytest.fixture(scope="module")
def korean_window(browser, tmp_path_factory):
    base = tmp_path_factory.mktemp("ko-lab")
    root = base / "root"
    root.mkdir()
    copy_notebooks(REPO / "notebooks", root / "notebooks")
    (root / "datasets").symlink_to(REPO / "datasets")
    settings = base / "state" / "settings" / LOCALE_SETTING
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"locale": "ko_KR"}), encoding="utf-8")
    with running_lab(root, base / "state", {"CS231N_LANG": "ko"}) as lab:
        with lab_window_for(browser, lab) as window:
            yield window


@pytest.fixture
def lab_window(korean_window):
    return korean_window


def test_korean_notebook_in_korean_jupyterlab(page_session, artifacts):
    source = REPO / NOTEBOOK
    run = run_like_a_student(
        page_session, NOTEBOOK, "ko-01_knn", artifacts, stored=stored_expectations(source)
    )
    assert not run.findings.problems, "\n- ".join(
        ["ko-01_knn in JupyterLab:"] + run.findings.problems
    )
    page = page_session.page

    menu = page.locator(".lm-MenuBar-content").inner_text()
    assert "파일" in menu and "편집" in menu, f"the menu bar is not in Korean: {menu!r}"

    # The run closed the notebook; open it again to read the rendered markdown.
    view = page_session.window.notebook(NOTEBOOK, "ko-01_knn-view")
    view.open()
    page.wait_for_selector(".jp-RenderedMarkdown h1")
    markdown = page.locator(".jp-RenderedMarkdown").all_inner_texts()
    view.close()
    assert any(text.startswith("과제 1") for text in markdown), markdown[:2]
    assert sum(bool(HANGUL.search(t)) for t in markdown) >= 15, "markdown cells are not Korean"
    assert any("용어 정리" in t for t in markdown), "the glossary cell is not shown"

    cells = run.cells
    shown = "\n".join(d["text"] for c in cells if c["type"] == "code" for d in c.get("dom", []))
    assert "compute_distances_two_loops: 통과" in shown, "check verdicts are not in Korean"
    assert "빠른 모드" in shown, "the setup banner is not in Korean"
    assert "missing from font" not in shown, "a plot label fell back to boxes (no Hangul glyph)"
    stderr = [
        o for c in cells if c["type"] == "code" for o in c["outputs"] if o.get("name") == "stderr"
    ]
    assert not stderr, f"cells wrote to stderr (a missing-glyph warning?): {stderr}"
    images = [
        img for c in cells if c["type"] == "code" for d in c.get("dom", []) for img in d["images"]
    ]
    assert len(images) >= 3 and all(img["decoded"] for img in images), images
