"""The Korean edition: catalogues current, Korean notebooks structurally the English ones,
stale translations detected, Hangul drawn by a real font, a Korean release graded the same way.

nbval runs the Korean notebooks themselves (notebooks/ko/*.ipynb, with CS231N_LANG=ko; see
notebooks/ko/conftest.py) against their own stored outputs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings

import nbformat
import pytest

from cs231n_course import translate
from cs231n_lib import config, i18n

TRANSLATED = translate.translated_notebooks()
HANGUL = translate._HANGUL


def _without_glossary(nb):
    return [c for c in nb.cells if c.get("id") != translate.GLOSSARY_ID]


def test_every_notebook_is_translated():
    untranslated = sorted(
        nb.name for nb in translate.english_notebooks() if nb not in set(TRANSLATED)
    )
    assert not untranslated, (
        f"no Korean catalogue for {untranslated}: run `python -m cs231n_course translate update "
        f"notebooks/<name>.ipynb`, translate the new notebooks/ko/<name>.po, then `translate "
        f"build --execute notebooks/<name>.ipynb`"
    )


def test_readme_word_counts_are_the_measured_ones():
    """The README's "English words -> Korean words" per notebook are what `translate status`
    counts now (the numbers are not typed in and left to drift)."""
    readme = (translate.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme[readme.index("## 한국어판") :].split())
    stated = {
        m[1]: (int(m[2].replace(",", "")), int(m[3].replace(",", "")))
        for m in re.finditer(r"\b(0[1-9]) \([^;()]+; (?:with the glossary; )?([\d,]+) "
                             r"(?:English words )?-> ([\d,]+)", text)
    }  # fmt: skip
    measured = {}
    for english in TRANSLATED:
        status = translate.notebook_status(english)
        measured[english.name[:2]] = (status.english_words, status.korean_words)
    assert stated == measured, (
        "README.md's 한국어판 word counts differ from `python -m cs231n_course translate status`;"
        " copy the counts it prints into the README"
    )


# --- library catalogue --------------------------------------------------------------------


def test_every_library_message_has_a_current_korean_translation():
    template = translate.extract_library()
    catalog = translate.read_catalog(translate.LIB_PO)
    problems = []
    for message in template:
        if not message.id:
            continue
        ko = catalog.get(message.id, context=message.context)
        if ko is None or not ko.string:
            problems.append(f"missing: {message.id!r}")
        elif ko.fuzzy:
            problems.append(f"stale (fuzzy): {message.id!r}")
        elif not HANGUL.search(ko.string if isinstance(ko.string, str) else ko.string[0]):
            problems.append(f"no Hangul: {message.id!r} -> {ko.string!r}")
    assert not problems, (
        "library messages without a current Korean translation; run `python -m "
        "cs231n_course translate lib`, translate cs231n_lib/locale/ko/LC_MESSAGES/cs231n.po "
        "and run it again:\n" + "\n".join(problems)
    )


def test_placeholders_survive_translation():
    catalog = translate.read_catalog(translate.LIB_PO)
    import string

    for m in catalog:
        if not m.id:
            continue
        fields = {f for _t, f, _s, _c in string.Formatter().parse(m.id) if f}
        ko_fields = {f for _t, f, _s, _c in string.Formatter().parse(m.string) if f}
        assert fields == ko_fields, f"{m.id!r}: placeholders {fields} vs {ko_fields}"


def test_shipped_mo_is_the_compiled_po():
    mo = translate.LIB_PO.with_suffix(".mo")
    assert mo.read_bytes() == translate.compiled_mo(), (
        f"{mo} is not the compilation of its .po; run `python -m cs231n_course translate lib`"
    )


def test_korean_messages_at_run_time(monkeypatch, capsys):
    monkeypatch.setattr(config, "LANG", "ko")
    assert i18n._("Cross-validation on k") == "k에 대한 교차 검증"
    assert i18n.class_names()[3] == "고양이"
    assert "빠른 모드" in config.mode_banner() or "전체 데이터" in config.mode_banner()
    from cs231n_lib.checks import check

    check("relu_forward")
    assert capsys.readouterr().out.startswith("relu_forward: 통과 (")
    monkeypatch.setattr(config, "LANG", "en")
    check("relu_forward")
    assert capsys.readouterr().out.startswith("relu_forward: OK (")


def test_check_failure_details_and_stub_in_korean(monkeypatch, capsys):
    """A failing check, an input modified in place and a stub, as a Korean student sees them;
    the same calls in English give the English text, and grading-mode lines never change."""
    from cs231n_lib import layers
    from cs231n_lib.checks import CheckFailed, check, run

    def in_place_relu(x):  # wrong twice: modifies x and returns it
        x[x < 0] = 0
        return 2 * x, x

    def stub(x):
        raise NotImplementedError(
            "relu_forward: implement this in cs231n_lib/layers.py (see the TODO above)"
        )

    monkeypatch.setattr(layers, "relu_forward", in_place_relu)
    monkeypatch.setattr(config, "LANG", "ko")
    with pytest.raises(CheckFailed, match="문제 2개"):
        check("relu_forward")
    out = capsys.readouterr().out
    assert out.startswith("relu_forward: 실패\n"), out
    assert "값이 다릅니다. 기대한 값" in out and "항목 24개 중" in out
    assert "relu_forward이(가) x을(를) 제자리에서 바꿨습니다. 대신 새 배열로 계산하세요" in out
    assert "고칠 곳: cs231n_lib/layers.py의 relu_forward" in out
    grading_ko = run("relu_forward", mode="grading", seed=7).lines

    monkeypatch.setattr(config, "LANG", "en")
    with pytest.raises(CheckFailed):
        check("relu_forward")
    out = capsys.readouterr().out
    assert "values differ at index" in out and "modified x in place; compute into" in out
    assert run("relu_forward", mode="grading", seed=7).lines == grading_ko

    monkeypatch.setattr(layers, "relu_forward", stub)
    for lang, text in (
        ("ko", "relu_forward: 아직 구현되지 않았습니다. cs231n_lib/layers.py에 구현하세요"),
        ("en", "relu_forward: implement this in cs231n_lib/layers.py (see the TODO above)"),
    ):
        monkeypatch.setattr(config, "LANG", lang)
        with pytest.raises(NotImplementedError, match=re.escape(text)):
            check("relu_forward")
    monkeypatch.setattr(config, "GRADING_SEED", 7)  # the grader reads the English stub text
    monkeypatch.setattr(config, "LANG", "ko")
    with pytest.raises(NotImplementedError, match="implement this in"):
        check("relu_forward")


def test_grader_feedback_follows_the_language_of_the_answers():
    from cs231n_course.grader import reports
    from cs231n_course.grader.types import ExerciseResult, SubmissionResult

    def result(answer):
        return SubmissionResult(
            "0" * 64,
            10,
            [ExerciseResult("relu_forward", "04_two_layer_net.ipynb", 2, 2, True, "same")],
            answers={"q1": answer, "q2": None},
        )

    korean = reports.feedback_markdown("kim", "kim.zip", result("ReLU는 음수에서 0입니다."))
    english = reports.feedback_markdown("kim", "kim.zip", result("ReLU is 0 for x < 0."))
    unanswered = reports.feedback_markdown("kim", "kim.zip", result(None))
    assert korean.startswith("# 채점 결과: kim") and "**총점: 2 / 10점**" in korean
    assert "| 문제 | 노트북 | 점수 | 결과 |" in korean and "**통과**" in korean
    assert english.startswith("# Grading feedback: kim") and "**pass**" in english
    assert unanswered == english and not HANGUL.search(english)
    assert reports.feedback_markdown("kim", "kim.zip", result(None), lang="ko") == korean


@pytest.mark.parametrize(
    ("value", "lang"), [("", "en"), ("ko", "ko"), ("ko_KR.UTF-8", "ko"), ("EN", "en")]
)
def test_language_setting(value, lang):
    code = "from cs231n_lib import config; print(config.LANG)"
    env = {"CS231N_LANG": value, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == lang


def test_unknown_language_is_a_clear_error():
    code = "import cs231n_lib.config"
    env = {"CS231N_LANG": "fr", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "CS231N_LANG='fr' is not a language of this course" in out.stderr
    assert "en, ko" in out.stderr


# --- Hangul font --------------------------------------------------------------------------


def _draw(text: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.set_title(text)
        ax.set_xlabel(text)
        fig.canvas.draw()
        plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_hangul_plots_use_a_font_that_has_every_glyph(monkeypatch):
    import matplotlib

    text = "k에 대한 교차 검증 (정확도 −0.5) 학습 예제 고양이"
    with matplotlib.rc_context():
        # The control: matplotlib's default font has no Hangul, so the check can fail.
        assert _draw(text), "expected DejaVu Sans alone to miss Hangul glyphs"
    with matplotlib.rc_context():
        monkeypatch.setattr(config, "LANG", "ko")
        name = i18n.use_hangul_font()
        assert name is not None, (
            "no Hangul font installed; .ci/install-browser installs fonts-nanum "
            "(sudo apt-get install fonts-nanum)"
        )
        assert _draw(text) == []
        # Every library message as a plot label: none falls back to boxes.
        catalog = translate.read_catalog(translate.LIB_PO)
        labels = "\n".join(m.string for m in catalog if m.id and isinstance(m.string, str))
        assert _draw(labels) == []


def test_english_leaves_the_font_alone(monkeypatch):
    import matplotlib

    with matplotlib.rc_context():
        before = list(matplotlib.rcParams["font.family"])
        monkeypatch.setattr(config, "LANG", "en")
        assert i18n.use_hangul_font() is None
        assert list(matplotlib.rcParams["font.family"]) == before


# --- Korean notebooks ---------------------------------------------------------------------


@pytest.mark.parametrize("english", TRANSLATED, ids=lambda p: p.name)
def test_korean_notebook_has_the_english_structure_and_code(english):
    en = nbformat.read(english, as_version=4)
    korean_file = translate.korean_path(english)
    assert korean_file.exists(), "run `python -m cs231n_course translate build --execute`"
    ko = nbformat.read(korean_file, as_version=4)
    ko_cells = _without_glossary(ko)
    assert [c.id for c in ko_cells] == [c.id for c in en.cells]
    assert [c.cell_type for c in ko_cells] == [c.cell_type for c in en.cells]
    hint = f"{korean_file} is out of date: run `python -m cs231n_course translate build "
    for e, k in zip(en.cells, ko_cells, strict=True):
        assert k.metadata == e.metadata, f"{hint}--execute` (cell {e.id}: metadata differs)"
        if e.cell_type == "code":
            assert k.source == e.source, f"{hint}--execute` (code cell {e.id} differs)"
    en_meta = {k: v for k, v in en.metadata.items() if k != "widgets"}
    ko_meta = {k: v for k, v in ko.metadata.items() if k != "widgets"}
    assert ko_meta == en_meta
    assert (ko.nbformat, ko.nbformat_minor) == (en.nbformat, en.nbformat_minor)
    # The raw JSON of each code cell's source, byte for byte.
    en_raw = {c["id"]: c["source"] for c in json.loads(english.read_text())["cells"]}
    for c in json.loads(korean_file.read_text())["cells"]:
        if c["cell_type"] == "code":
            assert c["source"] == en_raw[c["id"]]


@pytest.mark.parametrize("english", TRANSLATED, ids=lambda p: p.name)
def test_every_markdown_cell_has_a_current_translation(english):
    status = translate.notebook_status(english)
    assert status.complete, (
        f"{english.name}: stale {status.stale}, missing {status.missing}, problems "
        f"{status.problems}. The English changed: run `python -m cs231n_course translate "
        f"update {english.relative_to(translate.REPO_ROOT)}`, translate the fuzzy entries of "
        f"{translate.catalog_path(english).relative_to(translate.REPO_ROOT)}, then "
        f"`translate build`"
    )
    ko = nbformat.read(translate.korean_path(english), as_version=4)
    catalog = translate.read_catalog(translate.catalog_path(english))
    en_cells = {c.id: c for c in nbformat.read(english, as_version=4).cells}
    for cell in ko.cells:
        if cell.cell_type != "markdown":
            continue
        assert HANGUL.search(cell.source), f"{cell.id} has no Korean"
        if cell.id != translate.GLOSSARY_ID:
            expected = catalog.get(en_cells[cell.id].source, context=cell.id).string
            assert cell.source == expected, f"{cell.id}: notebook not rebuilt after translation"


def test_first_notebook_has_a_glossary():
    ko = nbformat.read(translate.korean_path(translate.NOTEBOOKS / "01_knn.ipynb"), as_version=4)
    glossary = ko.cells[1]
    assert glossary.id == translate.GLOSSARY_ID
    for pair in ("합성곱 | convolution", "패딩 | padding", "스트라이드 | stride", "역전파 |"):
        assert pair in glossary.source
    assert glossary.source.count("\n|") >= 20


# --- staleness, end to end on a copy ------------------------------------------------------


def test_changed_english_makes_the_translation_stale(tmp_path, monkeypatch):
    nbdir = tmp_path / "notebooks"
    (nbdir / "ko").mkdir(parents=True)
    english = nbdir / "01_knn.ipynb"
    shutil.copy(translate.NOTEBOOKS / "01_knn.ipynb", english)
    shutil.copy(translate.catalog_path(translate.NOTEBOOKS / "01_knn.ipynb"), nbdir / "ko")
    monkeypatch.setattr(translate, "REPO_ROOT", tmp_path)
    assert translate.notebook_status(english).complete

    nb = nbformat.read(english, as_version=4)
    cell = next(c for c in nb.cells if c.id == "cv-intro")
    cell.source = cell.source.replace("5 folds", "4 folds")
    nbformat.write(nb, english)
    assert translate.notebook_status(english).stale == ["cv-intro"]

    _path, counts = translate.update_catalog(english)
    n_markdown = len(translate.markdown_cells(nbformat.read(english, as_version=4)))
    assert counts["changed"] == 1 and counts["unchanged"] == n_markdown - 1
    message = translate.read_catalog(translate.catalog_path(english)).get(
        cell.source, context="cv-intro"
    )
    assert message.fuzzy and message.user_comments[0] == translate.PREVIOUS_HEADER
    assert any("5 folds" in line for line in message.user_comments)
    assert "5개의 폴드" in message.string  # the old Korean is kept for the translator
    status = translate.notebook_status(english)
    assert status.stale == ["cv-intro"] and not status.complete

    out, status, _ = translate.build_notebook(english)
    built = {c.id: c.source for c in nbformat.read(out, as_version=4).cells}
    assert built["cv-intro"].startswith(translate.STALE_NOTE)  # English shown, marked stale
    assert "4 folds" in built["cv-intro"]
    assert HANGUL.search(built["title"])


def test_a_translation_that_loses_a_solution_marker_is_refused():
    english = "text\n### BEGIN SOLUTION\nanswer\n### END SOLUTION\n"
    ok = "글\n### BEGIN SOLUTION\n답\n### END SOLUTION"
    assert translate.check_translation(english, ok) is None
    assert translate.check_translation(english, "글\n### BEGIN SOLUTION\n답") is not None


# --- the Korean release grades like the English one ---------------------------------------


def test_korean_release_regions_are_the_english_ones(tmp_path, release):
    from cs231n_course import markers
    from cs231n_course.grader.workspace import lift_regions

    release = shutil.copytree(release, tmp_path / "en")  # the fixture is shared: only read it
    ko_release = tmp_path / "ko"
    written = translate.build_korean_release(translate.REPO_ROOT, ko_release)
    assert "notebooks/01_knn.ipynb" in written
    assert (ko_release / "cs231n_lib/locale/ko/LC_MESSAGES/cs231n.mo").exists()
    names = [p.name for p in sorted((release / "notebooks").glob("*.ipynb"))]
    assert names == [p.name for p in sorted((ko_release / "notebooks").glob("*.ipynb"))]

    ko_nb = nbformat.read(ko_release / "notebooks/01_knn.ipynb", as_version=4)
    assert ko_nb.cells[0].source.startswith("# 과제 1")
    assert translate.ANSWER_STUB_KO in "".join(c.source for c in ko_nb.cells)
    assert markers.MARKDOWN_ANSWER_STUB not in "".join(c.source for c in ko_nb.cells)

    # The same answer written into the same region of either language's notebook.
    answer = "best_k = 1  # the same answer in both languages"
    for root in (release, ko_release):
        path = root / "notebooks/01_knn.ipynb"
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.id == "knn_best_k")
        lines = cell.source.splitlines()
        begin = next(i for i, line in enumerate(lines) if "BEGIN STUDENT REGION" in line)
        lines[begin + 1] = answer
        cell.source = "\n".join(lines)
        nbformat.write(nb, path)

    def lifted(root):
        files = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
        regions = lift_regions(root, files, {}, names)
        return regions.nb

    en_regions, ko_regions = lifted(release), lifted(ko_release)
    assert en_regions == ko_regions
    assert any(answer in str(r) for r in en_regions["01_knn.ipynb"].values())


def test_korean_student_readme_is_released_in_both_editions(tmp_path, release):
    """README.ko.md ships to students; tests/test_release_text.py checks that every command,
    module and path it names exists in the release and that it names nothing instructor-only."""
    for root in (release, tmp_path / "ko"):
        if root != release:
            translate.build_korean_release(translate.REPO_ROOT, root)
        text = (root / "README.ko.md").read_text(encoding="utf-8")
        for needed in (
            "CS231N_LANG=ko .venv/bin/python -m cs231n_lib.lab",
            ".venv/bin/python -m cs231n_lib.submit",
            "sudo apt-get install fonts-nanum",
            "통과",
        ):
            assert needed in text, needed
    readme = (translate.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "README.ko.md" in readme  # the English README points Korean students to it


# --- the real grader on the same answers in both languages --------------------------------


@pytest.mark.notebook
@pytest.mark.slow
def test_a_korean_submission_grades_exactly_as_the_english_one(tmp_path, repo):
    from cs231n_course import markers, sandbox
    from cs231n_course.grader import GradeOptions, Limits, grade
    from cs231n_course.release import build_release
    from cs231n_course.solutions import fill_regions, solution_regions

    capabilities = sandbox.probe()
    if capabilities.get("mount+pid namespaces") != "ok":
        pytest.skip(f"grading needs mount and PID namespaces: {capabilities}")
    english, korean = tmp_path / "subs" / "student-en", tmp_path / "subs" / "student-ko"
    build_release(repo, english)
    translate.build_korean_release(repo, korean)
    # The same partial work in both: two library functions and the notebook's CV cell.
    only = {
        "KNearestNeighbor.compute_distances_two_loops",
        "KNearestNeighbor.predict_labels",
        "knn_cross_validation",
    }
    regions = solution_regions(repo)
    assert sorted(fill_regions(english, regions, only)) == sorted(only)
    assert sorted(fill_regions(korean, regions, only)) == sorted(only)
    assert "과제 1" in (korean / "notebooks/01_knn.ipynb").read_text(encoding="utf-8")
    # Each answers the inline questions in their own language: that chooses the feedback's.
    for root, stub, answer in (
        (english, markers.MARKDOWN_ANSWER_STUB, "Brightness dominates the L2 distance."),
        (korean, translate.ANSWER_STUB_KO, "밝기가 L2 거리를 좌우합니다."),
    ):
        path = root / "notebooks/01_knn.ipynb"
        text = path.read_text(encoding="utf-8")
        assert text.count(stub) == 3
        path.write_text(text.replace(stub, answer), encoding="utf-8")

    options = GradeOptions(
        out=tmp_path / "out",
        seed=20240601,
        notebooks=["01_knn"],
        limits=Limits(cell_timeout=60, notebook_timeout=300, cpu_seconds=200),
        cache=tmp_path / "cache",
        workers=1,
        progress=False,
        uid_base=62400,
    )
    report = grade([english, korean], options)
    assert report.failed == []
    with open(options.out / "gradebook.csv") as fh:
        rows = {r.pop("student"): r for r in __import__("csv").DictReader(fh)}
    assert rows["student-ko"] == rows["student-en"]
    assert 0 < float(rows["student-ko"]["total"]) < 12, rows  # partial, so a real comparison
    # The same rows, points and verdicts; the Korean page says it all in Korean.
    pages = {s: (options.out / "feedback" / f"{s}.md").read_text(encoding="utf-8") for s in rows}
    ko, en = pages["student-ko"], pages["student-en"]
    table = {
        s: [
            cells[:3]
            for cells in (line.split(" | ") for line in page.splitlines())
            if cells[0].startswith("| `") and len(cells) == 4  # an exercise, not a question
        ]
        for s, page in pages.items()
    }
    assert table["student-ko"] == table["student-en"] and table["student-en"]
    assert not HANGUL.search(en) and "## Inline questions (graded by a TA)" in en
    assert en.count("| not graded yet / 2 |") == 3 and "passed on the hidden grading" in en
    assert ko.startswith("# 채점 결과: student-ko") and "## 인라인 질문 (조교가 채점)" in ko
    assert ko.count("| 아직 채점 전 / 2 |") == 3 and "**총점 " in ko
    assert "**통과**: 채점용 숨겨진 입력에서 통과했습니다" in ko
    rows_ko = (line.split(" | ") for line in ko.splitlines() if line.startswith("| `"))
    reasons = [row[3] for row in rows_ko if len(row) == 4]
    assert len(reasons) == len(table["student-ko"])
    failing = [r for r in reasons if r.startswith("**실패**")]
    assert failing and all(HANGUL.search(r.split(":", 1)[1]) for r in reasons), reasons
    assert "NotImplementedError을(를) 일으켰습니다" in ko and "implement this in" in en
    assert "아직 구현되지 않았습니다" in ko and "implement this in" not in ko  # the stubs, too
    # What the grader keeps stays English: the gradebook (above) and the summary.
    summary = (options.out / "summary.md").read_text(encoding="utf-8")
    assert not HANGUL.search(summary)
