"""Every whole-submission refusal in the student's language, and byte for byte English as before.

A refusal is a ``SubmissionError`` made from a marked template and its fields
(``cs231n_lib.submission_rules.Message``): ``str(error)`` is the English the grader stores,
prints and compares (pinned below, exactly as before the templates), ``error.message.shown()``
the student's language. Each case below makes one refusal the way a student meets it: the
``submit`` command on a folder, the grader's unpacker on a folder or a zip, the grader's intake
of the submission paths. The real ``submit`` command and the grader's Korean feedback page for
refused submissions are tested at the end.
"""

from __future__ import annotations

import json
import os
import random
import re
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from cs231n_course.grader import batch as grader_batch
from cs231n_course.grader import unpack
from cs231n_course.grader.types import Submission
from cs231n_lib import config, i18n, submit
from cs231n_lib.submission_rules import Message, SubmissionError, UnpackLimits

HANGUL = re.compile("[\uac00-\ud7a3]")
KO = i18n.translations("ko").gettext


def _tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return root


NOISE = random.Random(0).randbytes  # incompressible, the same bytes in every run
COURSE = {"cs231n_lib/layers.py": "x = 1\n", "notebooks/01_knn.ipynb": "{}"}


def _zip(path: Path, entries: dict[str, bytes], modes: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data)
    return path


def _unpack(path: Path, tmp: Path, **limits):
    unpack.unpack(Submission(path, "s"), tmp / "staging", UnpackLimits(**limits))


# --- the submit command (cs231n_lib/submit.py) --------------------------------------------


def submit_too_many_files(tmp):
    submit.gradable_files(_tree(tmp / "c", COURSE), UnpackLimits(max_files=1))


def submit_symlink(tmp):
    root = _tree(tmp / "c", COURSE)
    (root / "cs231n_lib" / "evil.py").symlink_to("/etc/passwd")
    submit.gradable_files(root)


def submit_special_file(tmp):
    root = _tree(tmp / "c", COURSE)
    os.mkfifo(root / "cs231n_lib" / "pipe.py")
    submit.gradable_files(root)


def submit_file_too_big(tmp):
    submit.gradable_files(_tree(tmp / "c", COURSE), UnpackLimits(max_file_bytes=3))


def submit_no_files(tmp):
    (tmp / "empty").mkdir()
    submit.gradable_files(tmp / "empty")


def submit_total_too_big(tmp):
    submit.inspect(_tree(tmp / "c", COURSE), UnpackLimits(max_total_bytes=4))


def submit_zip_too_big(tmp):
    path = _zip(tmp / "s.zip", {"notebooks/01_knn.ipynb": NOISE(3000)})
    submit.verify_zip(path, {}, UnpackLimits(max_archive_bytes=1000))


def submit_zip_entries(tmp):
    path = _zip(tmp / "s.zip", {f"notebooks/{i}.ipynb": b"{}" for i in range(3)})
    submit.verify_zip(path, {}, UnpackLimits(max_files=1))


def submit_zip_unwanted(tmp):
    submit.verify_zip(_zip(tmp / "s.zip", {"README.md": b"hi"}), {}, UnpackLimits())


def submit_zip_outside(tmp):
    submit.verify_zip(_zip(tmp / "s.zip", {"../evil.py": b"x"}), {}, UnpackLimits())


def submit_zip_entry_too_big(tmp):
    path = _zip(tmp / "s.zip", {"notebooks/01_knn.ipynb": b"{}" * 10})
    submit.verify_zip(path, {}, UnpackLimits(max_file_bytes=5))


def submit_zip_total_too_big(tmp):
    path = _zip(tmp / "s.zip", {"notebooks/01_knn.ipynb": b"{}" * 10})
    submit.verify_zip(path, {}, UnpackLimits(max_total_bytes=5))


def submit_zip_differs(tmp):
    path = _zip(tmp / "s.zip", {"notebooks/01_knn.ipynb": b"{}"})
    submit.verify_zip(path, {"notebooks/01_knn.ipynb": b"[]"}, UnpackLimits())


# --- the grader's unpacker (cs231n_course/grader/unpack.py) --------------------------------


def grader_outside(tmp):
    _unpack(_zip(tmp / "m.zip", {"cs231n_lib/a.py": b"x", "a/../../evil.py": b"x"}), tmp)


def grader_total_too_big(tmp):
    _unpack(_tree(tmp / "alice", COURSE), tmp, max_total_bytes=4)


def grader_symlink(tmp):
    root = _tree(tmp / "alice", COURSE)
    os.symlink("/etc/passwd", root / "cs231n_lib" / "knn.py")
    _unpack(root, tmp)


def grader_file_too_big(tmp):
    _unpack(_tree(tmp / "alice", COURSE), tmp, max_file_bytes=3)


def grader_too_deep(tmp):
    root = _tree(tmp / "alice", COURSE)
    folder = root / "notebooks"
    for _level in range(unpack.MAX_DEPTH + 1):
        folder = folder / "a"
        folder.mkdir()
    _unpack(root, tmp)


def grader_not_zip_or_folder(tmp):
    (tmp / "work.tar").write_bytes(b"x")
    _unpack(tmp / "work.tar", tmp)


def grader_folder_too_many_files(tmp):
    _unpack(_tree(tmp / "alice", COURSE), tmp, max_files=2)


def grader_folder_special_file(tmp):
    root = _tree(tmp / "alice", COURSE)
    os.mkfifo(root / "notebooks" / "02_linear.ipynb")
    _unpack(root, tmp)


def grader_reader_special(tmp):
    os.mkfifo(tmp / "pipe.py")
    unpack._reader_nofollow(str(tmp / "pipe.py"), 100)()


def grader_reader_grew(tmp):
    (tmp / "a.py").write_bytes(b"x" * 50)
    unpack._reader_nofollow(str(tmp / "a.py"), 10)()


def grader_zip_too_big_venv(tmp):
    entries = {".venv/lib/big.bin": NOISE(4000), "notebooks/01_knn.ipynb": b"{}"}
    _unpack(_zip(tmp / "bob.zip", entries), tmp, max_archive_bytes=2000)


def grader_zip_too_big(tmp):
    _unpack(_zip(tmp / "bob.zip", {"notebooks/01_knn.ipynb": NOISE(4000)}), tmp,
            max_archive_bytes=2000)  # fmt: skip


def grader_zip_declared_entries(tmp):
    path = _zip(tmp / "many.zip", {f"junk/{i}": b"" for i in range(5)})
    _unpack(path, tmp, max_files=3)


def grader_zip_unreadable(tmp):
    (tmp / "x.zip").write_bytes(b"PK\x03\x04 not really")
    _unpack(tmp / "x.zip", tmp)


def grader_zip_symlink(tmp):
    path = _zip(tmp / "m.zip", {"cs231n_lib/knn.py": b"/etc/passwd"},
                {"cs231n_lib/knn.py": 0o120777})  # fmt: skip
    _unpack(path, tmp)


def grader_zip_special(tmp):
    path = _zip(tmp / "m.zip", {"cs231n_lib/knn.py": b""}, {"cs231n_lib/knn.py": 0o010644})
    _unpack(path, tmp)


def grader_zip_twice(tmp):
    path = tmp / "m.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        _zip(path, {"cs231n_lib/knn.py": b"x = 1\n"})
        with zipfile.ZipFile(path, "a") as zf:
            zf.writestr("cs231n_lib/knn.py", b"x = 2\n")
    _unpack(path, tmp)


def grader_zip_entry_too_big(tmp):
    _unpack(_zip(tmp / "bomb.zip", {"notebooks/01_knn.ipynb": b"0" * 5000}), tmp,
            max_file_bytes=1000)  # fmt: skip


def grader_zip_damaged(tmp):
    path = _zip(tmp / "d.zip", {"cs231n_lib/knn.py": b"x = 1\n" * 50})
    data = bytearray(path.read_bytes())
    data[50] ^= 0xFF  # inside the compressed bytes of the only entry
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
        unpack._zip_reader(archive, info, path.name, 10_000)()


def grader_zip_unpacks_beyond(tmp):
    path = _zip(tmp / "d.zip", {"cs231n_lib/knn.py": b"x = 1\n" * 50})
    with zipfile.ZipFile(path) as archive:
        unpack._zip_reader(archive, archive.infolist()[0], path.name, 10)()


# --- the grader's intake of the submission paths (cs231n_course/grader/batch.py) ------------


def _problem(paths):
    problems = [s.problem for s in grader_batch.read_submissions(paths, UnpackLimits())]
    problem = next(p for p in problems if p)
    raise SubmissionError(problem)


def intake_missing(tmp):
    _problem([tmp / "nobody.zip"])


def intake_unreadable(tmp):
    _problem([tmp / ("x" * 300 + ".zip")])  # a name too long: stat raises


def intake_twice(tmp):
    _zip(tmp / "alice.zip", {"notebooks/01_knn.ipynb": b"{}"})
    _tree(tmp / "alice", COURSE)
    _problem([tmp / "alice.zip", tmp / "alice"])


REFUSALS = [
    submit_too_many_files, submit_symlink, submit_special_file, submit_file_too_big,
    submit_no_files, submit_total_too_big, submit_zip_too_big, submit_zip_entries,
    submit_zip_unwanted, submit_zip_outside, submit_zip_entry_too_big, submit_zip_total_too_big,
    submit_zip_differs,
    grader_outside, grader_total_too_big, grader_symlink, grader_file_too_big, grader_too_deep,
    grader_not_zip_or_folder, grader_folder_too_many_files, grader_folder_special_file,
    grader_reader_special, grader_reader_grew, grader_zip_too_big_venv, grader_zip_too_big,
    grader_zip_declared_entries, grader_zip_unreadable, grader_zip_symlink, grader_zip_special,
    grader_zip_twice, grader_zip_entry_too_big, grader_zip_damaged, grader_zip_unpacks_beyond,
    intake_missing, intake_unreadable, intake_twice,
]  # fmt: skip


def refusal(case, tmp: Path) -> SubmissionError:
    tmp.mkdir(parents=True, exist_ok=True)
    with pytest.raises(SubmissionError) as info:
        case(tmp)
    return info.value


# The English of every case, exactly as main's code wrote it before the templates (b587379).
ENGLISH = {
    "submit_too_many_files": (
        "more than 1 files in cs231n_lib/ and notebooks/; remove what you added there"
    ),
    "submit_symlink": (
        "cs231n_lib/evil.py is a symbolic link; the grader refuses links. Replace it with the "
        "real file"
    ),
    "submit_special_file": "cs231n_lib/pipe.py is not a regular file",
    "submit_file_too_big": (
        "cs231n_lib/layers.py: 6 bytes, more than the 3 bytes allowed per file; clear notebook "
        "outputs (Kernel > Restart & Clear Output) and submit again"
    ),
    "submit_no_files": (
        "{tmp}/empty holds no cs231n_lib/*.py and no notebooks/*.ipynb; run this command in "
        "your course folder (or pass --root FOLDER)"
    ),
    "submit_total_too_big": (
        "the gradable files: 8 bytes, more than the 4 allowed. Make the zip with "
        "`.venv/bin/python -m cs231n_lib.submit` in your course folder: it packs only "
        "cs231n_lib/ and notebooks/"
    ),
    "submit_zip_too_big": (
        "s.zip: 3147 bytes, more than the 1000 allowed. Make the zip with `.venv/bin/python -m "
        "cs231n_lib.submit` in your course folder: it packs only cs231n_lib/ and notebooks/"
    ),
    "submit_zip_entries": "s.zip: more than 1 entries",
    "submit_zip_unwanted": "s.zip: README.md is not a file the grader reads",
    "submit_zip_outside": (
        "s.zip: the entry '../evil.py' points outside the submission folder (absolute path or "
        "'..'); this is refused to protect the grader. Make the zip with `.venv/bin/python -m "
        "cs231n_lib.submit` in your course folder"
    ),
    "submit_zip_entry_too_big": (
        "notebooks/01_knn.ipynb: 20 bytes, more than the 5 bytes allowed per file; clear "
        "notebook outputs (Kernel > Restart & Clear Output) and submit again"
    ),
    "submit_zip_total_too_big": (
        "the gradable files: 20 bytes, more than the 5 allowed. Make the zip with "
        "`.venv/bin/python -m cs231n_lib.submit` in your course folder: it packs only "
        "cs231n_lib/ and notebooks/"
    ),
    "submit_zip_differs": "s.zip does not hold what was written; run the command again",
    "grader_outside": (
        "m.zip: the entry 'a/../../evil.py' points outside the submission folder (absolute path "
        "or '..'); this is refused to protect the grader. Make the zip with `.venv/bin/python "
        "-m cs231n_lib.submit` in your course folder"
    ),
    "grader_total_too_big": (
        "the gradable files unpack to more than 4 bytes; clear notebook outputs (Kernel > "
        "Restart & Clear Output) and submit again"
    ),
    "grader_symlink": (
        "alice/cs231n_lib/knn.py is a symbolic link (to '/etc/passwd'); symlinks are refused. "
        "Replace it with the real file and submit again"
    ),
    "grader_file_too_big": (
        "alice/cs231n_lib/layers.py: 6 bytes, more than the 3 bytes allowed per file; clear "
        "notebook outputs (Kernel > Restart & Clear Output) and submit again"
    ),
    "grader_too_deep": (
        "/".join(["a"] * 64) + "...: "
        "folders nested more than 64 levels deep; submit your release folder as it is"
    ),
    "grader_not_zip_or_folder": (
        "work.tar: not a folder or a .zip file; submit your release folder or a .zip of it"
    ),
    "grader_folder_too_many_files": (
        "alice: more than 2 files in cs231n_lib/ and notebooks/; make the zip with "
        "`.venv/bin/python -m cs231n_lib.submit` in your course folder"
    ),
    "grader_folder_special_file": (
        "alice/notebooks/02_linear.ipynb is not a regular file (a device, pipe or socket)"
    ),
    "grader_reader_special": "{tmp}/pipe.py: changed into a special file while reading",
    "grader_reader_grew": "{tmp}/a.py: grew beyond 10 bytes while reading",
    "grader_zip_too_big_venv": (
        "bob.zip: 4261 bytes, more than the 2000 allowed; it holds the Python environment "
        "(.venv) you created (0 MB), which the grader never reads. Make the zip with "
        "`.venv/bin/python -m cs231n_lib.submit` in your course folder: it packs only "
        "cs231n_lib/ and notebooks/"
    ),
    "grader_zip_too_big": (
        "bob.zip: 4147 bytes, more than the 2000 allowed. Make the zip with `.venv/bin/python "
        "-m cs231n_lib.submit` in your course folder: it packs only cs231n_lib/ and notebooks/"
    ),
    "grader_zip_declared_entries": (
        "many.zip: 5 entries, more than the 3 allowed; make the zip with `.venv/bin/python -m "
        "cs231n_lib.submit`, which packs only cs231n_lib/ and notebooks/"
    ),
    "grader_zip_unreadable": (
        "x.zip: not a readable zip archive (File is not a zip file); create it again, e.g. "
        "`.venv/bin/python -m cs231n_lib.submit` in your course folder"
    ),
    "grader_zip_symlink": (
        "m.zip: the entry 'cs231n_lib/knn.py' is a symbolic link; symlinks are refused. Zip the "
        "real files (zip without --symlinks) and submit again"
    ),
    "grader_zip_special": "m.zip: the entry 'cs231n_lib/knn.py' is a special file",
    "grader_zip_twice": "m.zip: the entry 'cs231n_lib/knn.py' appears twice",
    "grader_zip_entry_too_big": (
        "bomb.zip:notebooks/01_knn.ipynb: 5000 bytes, more than the 1000 bytes allowed per "
        "file; clear notebook outputs (Kernel > Restart & Clear Output) and submit again"
    ),
    "grader_zip_damaged": (
        "d.zip: cannot extract 'cs231n_lib/knn.py' (Bad CRC-32 for file 'cs231n_lib/knn.py'); "
        "the archive is damaged or encrypted. Create it again without a password"
    ),
    "grader_zip_unpacks_beyond": "d.zip: 'cs231n_lib/knn.py' unpacks beyond 10 bytes",
    "intake_missing": "nobody.zip: no such file or folder",
    "intake_unreadable": (  # cut at 500 characters
        "x" * 300
        + ".zip cannot be read (OSError: [Errno 36] File name too long: '{tmp}/"
        + "x" * 300
        + ".zip')"
    ),
    "intake_twice": (
        "2 submissions for student 'alice' (alice, alice.zip); hand in one folder or one .zip, "
        "and each is refused until then"
    ),
}


# What a Korean refusal may keep in English besides its fields: commands, paths, menu names.
_KEPT = re.compile(
    r"`[^`]*`|\(Kernel > Restart & Clear Output\)|--symlinks|--root|JupyterLab|"
    r"cs231n_lib/(\*\.py)?|notebooks/(\*\.ipynb)?|\.zip|zip|MB|Python|git|\.\w+"
)
_ENGLISH_RUN = re.compile(r"[A-Za-z]+(?:[ ,;:'-]+[A-Za-z]+){2,}")  # three English words


def _field_values(message) -> list[str]:
    out = []
    for value in message.fields.values():
        if isinstance(value, tuple):
            for v in value:
                out += _field_values(v)
        elif hasattr(value, "fields"):
            out += _field_values(value)
        else:
            out += [repr(value), str(value)]
    return sorted(out, key=len, reverse=True)


def english_left(korean: str, message) -> list[str]:
    """Runs of three or more English words in ``korean`` that are not a field's value (a name,
    a quoted error) or a command, path or menu name."""
    text = korean
    for value in _field_values(message):
        text = text.replace(value, " ")
        if message.max_chars:  # the text was cut inside this value
            cut = next((n for n in range(len(value), 9, -1) if text.endswith(value[:n])), 0)
            text = text[: len(text) - cut]
    return _ENGLISH_RUN.findall(_KEPT.sub(" ", text))


@pytest.mark.parametrize("case", REFUSALS, ids=[c.__name__ for c in REFUSALS])
def test_refusal_in_english_as_before_and_in_korean(case, tmp_path, monkeypatch):
    monkeypatch.setattr(config, "LANG", "ko")  # str(error) is English in every language
    tmp = tmp_path / "t"
    error = refusal(case, tmp)
    english = ENGLISH[case.__name__].format(tmp=tmp)[:500]
    assert str(error) == english
    assert error.message == english and error.message.shown(str) == english
    korean = error.message.shown()
    assert korean == error.message.shown(KO)
    assert HANGUL.search(korean), korean
    assert english_left(korean, error.message) == [], korean
    assert english_left(english, error.message), english  # the check can fail
    # What the grader stores beside the English gives back both, exactly.
    stored = Message.from_json(json.loads(json.dumps(error.message.to_json())))
    assert stored == english and stored.shown(KO) == korean
    monkeypatch.setattr(config, "LANG", "en")
    assert error.message.shown() == english


def test_every_refusal_template_is_a_case_here():
    """Each refusal template of submission_rules (and submit's own) is met by a case above."""
    import ast

    from cs231n_lib import submission_rules

    met = set()
    for case in REFUSALS:
        error = refusal(case, Path(tempfile.mkdtemp(prefix="k6-")) / "t")
        todo = [error.message]
        while todo:
            m = todo.pop()
            met.add(m.template)
            for v in m.fields.values():
                todo += [x for x in (v if isinstance(v, tuple) else (v,)) if hasattr(x, "fields")]
    marked = set()
    for module in (submission_rules, submit):
        for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_":
                marked.add(ast.literal_eval(node.args[0]))
    bulky = {m for m in marked if m in submission_rules.BULKY.values()}
    assert marked - bulky - met == set()
    assert "the Python environment (.venv) you created" in met


def test_submit_warning_and_id_error_in_korean(tmp_path, monkeypatch, capsys):
    root = _tree(tmp_path / "c", {**COURSE, "notebooks/01_knn.ipynb": "{not json"})
    monkeypatch.setattr(config, "LANG", "en")
    (english,) = submit.inspect(root).warnings
    assert english.startswith("notebooks/01_knn.ipynb is not a readable notebook (Expecting ")
    assert english.endswith(
        "); the grader will grade its cells as not written. Open it in JupyterLab and save it again"
    )
    assert submit.main(["--id", "a b", "--root", str(root)]) == 2
    assert capsys.readouterr().err == "error: --id 'a b': use letters, digits and . _ @ - only\n"
    monkeypatch.setattr(config, "LANG", "ko")
    (korean,) = submit.inspect(root).warnings
    assert korean.startswith("notebooks/01_knn.ipynb은(는) 읽을 수 있는 노트북이 아닙니다(")
    assert submit.main(["--id", "a b", "--root", str(root)]) == 2
    assert capsys.readouterr().err == "오류: --id 'a b': 영문자, 숫자와 . _ @ - 만 쓰세요\n"


# --- the student's own command, and the grader's feedback page ------------------------------


def test_submit_command_refuses_in_the_students_language(release, tmp_path):
    """``.venv/bin/python -m cs231n_lib.submit`` on a course folder with a symlink in the
    library: refused, nothing written, the reason in Korean under CS231N_LANG=ko."""
    import shutil

    root = shutil.copytree(release, tmp_path / "course", symlinks=True)
    (root / "cs231n_lib" / "notes.py").symlink_to("/etc/hostname")
    runs = {}
    for lang in ("en", "ko"):
        done = subprocess.run(
            [sys.executable, "-m", "cs231n_lib.submit"], cwd=root, capture_output=True,
            text=True, timeout=120, env={**os.environ, "CS231N_LANG": lang},
        )  # fmt: skip
        assert done.returncode == 1 and done.stdout == "", done
        runs[lang] = done.stderr
    assert not (root / "submission.zip").exists()
    assert runs["en"] == (
        "error: cs231n_lib/notes.py is a symbolic link; the grader refuses links. Replace it "
        "with the real file\nNothing was written.\n"
    )
    assert runs["ko"] == (
        "오류: cs231n_lib/notes.py은(는) 심볼릭 링크입니다. 채점기는 링크를 거부합니다. 실제 "
        "파일로 바꾸세요\n아무것도 쓰지 않았습니다.\n"
    )


GRADER_CASES = [grader_outside, grader_symlink, grader_zip_too_big_venv, grader_zip_unreadable,
                grader_too_deep, intake_twice]  # fmt: skip


@pytest.mark.parametrize("case", GRADER_CASES, ids=[c.__name__ for c in GRADER_CASES])
def test_grader_feedback_page_shows_the_refusal_in_korean(case, tmp_path, repo):
    """The grader's refusal as it stores it (``refused_result``, through its results JSON)
    and the feedback page drawn from it: Korean on a Korean page, the English page and the
    stored English as before."""
    from cs231n_course.grader import reports
    from cs231n_course.grader.submission import refused_result
    from cs231n_course.grader.types import Course, GradedCell, SubmissionResult

    course = Course(repo, repo, ["01_knn.ipynb"], [GradedCell("01_knn.ipynb", 3, "c", "knn", 2)])
    error = refusal(case, tmp_path / "t")
    stored = json.loads(json.dumps(refused_result(course, "ab" * 32, error.message).to_json()))
    assert stored["refused"] == str(error)
    assert stored["refused_message"] == error.message.to_json()
    result = SubmissionResult.from_json(stored)
    english = reports.feedback_markdown("kim", "kim.zip", result, "en")
    korean = reports.feedback_markdown("kim", "kim.zip", result, "ko")
    assert f"> {reports.escape(str(error))}\n" in english
    assert f"> {reports.escape(error.message.shown(KO))}\n" in korean
    assert "제출물을 채점할 수 없어서 모든 문제가 0점입니다:" in korean
    # A result stored before refusals kept their template: the English, as it was.
    del stored["refused_message"]
    old = reports.feedback_markdown("kim", "kim.zip", SubmissionResult.from_json(stored), "ko")
    assert f"> {reports.escape(str(error))}\n" in old
    # A template that does not give back the stored English is not used.
    stored["refused_message"] = {**error.message.to_json(), "msgid": "{x}", "fields": {"x": 1}}
    other = reports.feedback_markdown("kim", "kim.zip", SubmissionResult.from_json(stored), "ko")
    assert f"> {reports.escape(str(error))}\n" in other


def test_results_of_other_submissions_are_stored_as_before():
    from cs231n_course.grader.types import ExerciseResult, SubmissionResult

    result = SubmissionResult("0" * 64, 2, [ExerciseResult("knn", "01.ipynb", 2, 2, True, "ok")])
    assert list(result.to_json()) == [
        "content_hash", "refused", "notes", "max_total", "exercises", "total", "stats", "answers",
    ]  # fmt: skip


def test_a_refused_submission_is_answered_in_the_language_of_its_answers(tmp_path, repo):
    """A refused submission has no result answers: its page's language comes from the course
    notebooks it holds as plain files (read in memory, links not followed)."""
    from cs231n_course.grader import reports
    from cs231n_course.grader.course import load_course
    from cs231n_course.release import build_release

    course = load_course(repo, tmp_path / "cache", ["01_knn"])
    folder = tmp_path / "kim"
    build_release(repo, folder)
    notebook = folder / "notebooks" / "01_knn.ipynb"
    english = notebook.read_bytes()
    notebook.write_text(
        english.decode().replace("*(write your answer here)*", "밝기가 거리를 좌우합니다", 1)
    )
    korean = notebook.read_bytes()
    limits = UnpackLimits()

    def language(path):
        return reports.refused_language(Submission(path, "kim"), course, limits)

    os.symlink("/etc/passwd", folder / "cs231n_lib" / "evil.py")  # refused as a folder
    with pytest.raises(SubmissionError, match="symbolic link"):
        _unpack(folder, tmp_path)
    assert language(folder) == "ko"
    slip = _zip(tmp_path / "kim.zip", {"kim/notebooks/01_knn.ipynb": korean, "../x.py": b"1"})
    assert language(slip) == "ko"
    assert language(_zip(tmp_path / "en.zip", {"notebooks/01_knn.ipynb": english})) == "en"
    # A notebook that is a link (to a Korean one) is not read, nor one over the size limit.
    linked = _tree(tmp_path / "linked", {"cs231n_lib/a.py": "x = 1\n"})
    (linked / "notebooks").mkdir()
    (linked / "notebooks" / "01_knn.ipynb").symlink_to(notebook)
    assert language(linked) == "en"
    link_entry = {"notebooks/01_knn.ipynb": 0o120777}
    assert (
        language(_zip(tmp_path / "l.zip", {"notebooks/01_knn.ipynb": korean}, link_entry)) == "en"
    )
    small = UnpackLimits(max_file_bytes=len(korean) - 1)
    assert reports.refused_language(Submission(slip, "kim"), course, small) == "en"
    assert language(tmp_path / "missing.zip") == "en"
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    assert language(tmp_path / "bad.zip") == "en"


def test_lab_error_in_korean(tmp_path, monkeypatch, capsys):
    from cs231n_lib import lab

    missing = tmp_path / "nope"
    monkeypatch.setattr(config, "LANG", "en")
    assert lab.main(["--notebooks", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"error: {missing} is not a folder; run this from the course folder or pass "
        "--notebooks PATH\n"
    )
    monkeypatch.setattr(config, "LANG", "ko")
    assert lab.main(["--notebooks", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"오류: {missing}은(는) 폴더가 아닙니다. 과정 폴더에서 실행하거나 --notebooks 경로를 "
        "넘기세요\n"
    )
