"""Hand in your work: ``python -m cs231n_lib.submit`` (or ``cs231n-submit``).

Run it in your course folder (the one holding ``cs231n_lib/`` and ``notebooks/``). It writes
``submission.zip`` holding exactly the files the grader reads -- every ``cs231n_lib/**.py``
and ``notebooks/*.ipynb``, nothing else (no ``.venv``, no data, no caches) -- and checks the
zip against the same rules and limits the grader's unpacker applies
(:mod:`cs231n_lib.submission_rules`). It warns about what would cost you points:

- a notebook that was never run, or a library file changed after the notebook was last saved
  (the saved check results may be out of date);
- student regions still holding the stub (not attempted);
- damaged region marker lines (the regions of that file would not be graded);
- shell commands in a notebook's region that need the network (``!pip install``, ``!wget``):
  the grader runs them with none.

Then it prints a one-screen summary and where the zip is. Usage::

    .venv/bin/python -m cs231n_lib.submit              # writes ./submission.zip
    .venv/bin/python -m cs231n_lib.submit --id jdoe    # writes ./jdoe.zip

When your course collects zips by file name (not on Gradescope), the grader takes the student
id from the name: ``jdoe.zip`` is graded as ``jdoe``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cs231n_lib import config
from cs231n_lib.i18n import N_, _, translations
from cs231n_lib.submission_rules import (
    ANY_REGION_LINE_RE,
    GRADABLE_FILES,
    LAYOUT_DIRS,
    MARKDOWN_ANSWER_STUBS,
    STUDENT_BEGIN_RE,
    STUDENT_END_RE,
    TOO_MANY_ENTRIES,
    WANTED,
    Message,
    SubmissionError,
    UnpackLimits,
    check_entry_name,
    file_size_error,
    oversize_message,
)

COURSE_ROOT = Path(__file__).resolve().parents[1]
_ID_RE = re.compile(r"^[A-Za-z0-9._@-]+$")
# What a passed check cell saved in the notebook starts with, in each language ("name: OK (").
_CHECK_OK = tuple(
    translations(lang).gettext("{name}: OK ({detail})").split("{detail}")[0]
    for lang in config.LANGUAGES
)


@dataclass
class Region:
    name: str
    where: str  # "cs231n_lib/classifiers/knn.py" or "notebooks/01_knn.ipynb"
    written: bool
    markdown: bool = False


@dataclass
class NotebookStatus:
    path: str
    code_cells: int = 0
    run_cells: int = 0
    checks: int = 0
    checks_ok: int = 0
    saved: float = 0.0  # mtime


@dataclass
class Report:
    files: list[str] = field(default_factory=list)
    total_bytes: int = 0
    zip_path: Path | None = None
    zip_bytes: int = 0
    regions: list[Region] = field(default_factory=list)
    notebooks: list[NotebookStatus] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def gradable_files(root: Path, limits: UnpackLimits = UnpackLimits()) -> list[str]:
    """The files under ``root`` the grader reads (relative POSIX paths, sorted).

    Raises SubmissionError for what the grader would refuse: a symlink or special file inside
    ``cs231n_lib/`` or ``notebooks/``, too many files, a file over the size limit.
    """
    found: list[str] = []
    count = 0
    for top in LAYOUT_DIRS:
        base = root / top
        if not base.is_dir():
            continue
        for folder, dirs, names in os.walk(base, followlinks=False):
            dirs.sort()
            for name in sorted(dirs + names):
                full = Path(folder, name)
                rel = full.relative_to(root).as_posix()
                st = os.lstat(full)
                count += 1
                if count > limits.max_files:
                    raise SubmissionError(
                        N_(
                            "more than {count} files in cs231n_lib/ and notebooks/; remove what "
                            "you added there"
                        ),
                        count=limits.max_files,
                    )
                if stat.S_ISLNK(st.st_mode):
                    raise SubmissionError(
                        N_(
                            "{path} is a symbolic link; the grader refuses links. Replace it "
                            "with the real file"
                        ),
                        path=rel,
                    )
                if stat.S_ISDIR(st.st_mode) or not WANTED.match(rel):
                    continue
                if not stat.S_ISREG(st.st_mode):
                    raise SubmissionError(N_("{path} is not a regular file"), path=rel)
                error = file_size_error(rel, st.st_size, limits)
                if error:
                    raise SubmissionError(error)
                found.append(rel)
    if not found:
        raise SubmissionError(
            N_(
                "{root} holds no cs231n_lib/*.py and no notebooks/*.ipynb; run this command in "
                "your course folder (or pass --root FOLDER)"
            ),
            root=str(root),
        )
    return sorted(found)


def write_zip(root: Path, files: list[str], dest: Path) -> int:
    """Write ``files`` (relative to ``root``) into the zip ``dest`` atomically; its size."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for rel in files:
                info = zipfile.ZipInfo(rel, date_time=(2000, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                archive.writestr(info, (root / rel).read_bytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest.stat().st_size


def verify_zip(path: Path, expected: dict[str, bytes], limits: UnpackLimits) -> None:
    """Read the zip back with the grader's rules: every entry a safe, wanted path within the
    limits, and the contents exactly ``expected``. Raises SubmissionError otherwise."""
    size = path.stat().st_size
    if size > limits.max_archive_bytes:
        raise SubmissionError(oversize_message(path.name, size, limits.max_archive_bytes, []))
    seen: dict[str, bytes] = {}
    total = 0
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_files:
            raise SubmissionError(TOO_MANY_ENTRIES, zip=path.name, count=limits.max_files)
        for info in infos:
            name = check_entry_name(info.filename, path.name)
            if not WANTED.match(name):
                raise SubmissionError(
                    N_("{zip}: {name} is not a file the grader reads"), zip=path.name, name=name
                )
            error = file_size_error(name, info.file_size, limits)
            if error:
                raise SubmissionError(error)
            seen[name] = archive.read(info)
            total += len(seen[name])
    if total > limits.max_total_bytes:
        raise SubmissionError(
            oversize_message(Message(GRADABLE_FILES), total, limits.max_total_bytes, [])
        )
    if seen != expected:
        raise SubmissionError(
            N_("{zip} does not hold what was written; run the command again"), zip=path.name
        )


# A shell command (``!cmd``, ``x = !cmd``) or ``%pip`` in a notebook region runs under the
# grader too, in its sandbox: on a terminal of its own, with the course's files and no network.
# These need the network, so there they fail, and the exercise with them.
_NEEDS_NETWORK = re.compile(
    r"^\s*(?:\w+\s*=\s*)?(?:!{1,2}|%)\s*(pip3?|conda|mamba|apt(?:-get)?|wget|curl|git|gdown)\b"
)


def _regions_of(lines: list[str], where: str, *, markdown: bool, report: Report) -> None:
    """Append the student regions of ``lines`` to ``report``; warn about damaged lines, and
    about shell commands in a notebook's region that cannot work under the grader."""
    open_name, body = None, []
    for number, line in enumerate(lines, start=1):
        begin, end = STUDENT_BEGIN_RE.match(line), STUDENT_END_RE.match(line)
        if begin:
            if open_name is not None:
                report.warnings.append(
                    _(
                        "{where}:{number}: region {name} starts inside region {open}; restore "
                        "the end line of {open} (copy it from a fresh release). The grader will "
                        "not grade this file's regions"
                    ).format(where=where, number=number, name=begin["name"], open=open_name)
                )
            open_name, body = begin["name"], []
        elif end:
            if open_name != end["name"]:
                report.warnings.append(
                    _(
                        "{where}:{number}: end line of region {name} does not match the open "
                        "region ({open}); restore the original marker lines. The grader will "
                        "not grade this file's regions"
                    ).format(where=where, number=number, name=end["name"], open=open_name)
                )
            else:
                report.regions.append(
                    Region(open_name, where, _written(body, markdown), markdown=markdown)
                )
            open_name = None
        elif ANY_REGION_LINE_RE.search(line):
            report.warnings.append(
                _(
                    "{where}:{number}: damaged region marker line {line!r}; restore it exactly "
                    "as released (it says 'do not edit this line'). The grader will not grade "
                    "this file's regions"
                ).format(where=where, number=number, line=line.strip())
            )
        elif open_name is not None:
            body.append(line)
            command = None if markdown else _NEEDS_NETWORK.match(line)
            if command and where.endswith(".ipynb"):
                report.warnings.append(
                    _(
                        "{where}, region {name}: `{line}` needs the network, which the grader "
                        "does not give your notebook (other shell commands run there as they do "
                        "here), so this line fails there and costs the exercise; run it in a "
                        "terminal instead and delete the line"
                    ).format(where=where, name=open_name, line=line.strip()[:60])
                )
    if open_name is not None:
        report.warnings.append(
            _(
                "{where}: region {name} has no end line; restore it. The grader will not grade "
                "this file's regions"
            ).format(where=where, name=open_name)
        )


def _written(body: list[str], markdown: bool) -> bool:
    text = "\n".join(line.strip() for line in body if line.strip())
    if markdown:
        return bool(text) and text not in MARKDOWN_ANSWER_STUBS
    code = [line for line in text.splitlines() if not line.startswith("#")]
    if not code:
        return False
    return not (len(code) == 1 and code[0].startswith("raise NotImplementedError("))


def _notebook(root: Path, rel: str, report: Report) -> None:
    path = root / rel
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError) as err:
        report.warnings.append(
            _(
                "{path} is not a readable notebook ({error}); the grader will grade its cells "
                "as not written. Open it in JupyterLab and save it again"
            ).format(path=rel, error=err)
        )
        return
    status = NotebookStatus(rel, saved=path.stat().st_mtime)
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        kind = cell.get("cell_type")
        if kind in ("code", "markdown"):
            _regions_of(source.splitlines(), rel, markdown=kind == "markdown", report=report)
        if kind != "code":
            continue
        status.code_cells += 1
        if cell.get("execution_count") is not None:
            status.run_cells += 1
        grading = cell.get("metadata", {}).get("nbgrader", {})
        if grading.get("grade") and grading.get("grade_id"):
            status.checks += 1
            text = "".join(
                "".join(o.get("text", "")) if isinstance(o.get("text"), list) else o.get("text", "")
                for o in cell.get("outputs", [])
            )
            if any(ok.format(name=grading["grade_id"]) in text for ok in _CHECK_OK):
                status.checks_ok += 1
    report.notebooks.append(status)
    if status.code_cells and status.run_cells == 0:
        report.warnings.append(
            _(
                "{path} was never run (no cell has been executed); run it top to bottom and "
                "save it, so you know which checks pass"
            ).format(path=rel)
        )


def inspect(root: Path, limits: UnpackLimits = UnpackLimits()) -> Report:
    """Everything the summary shows, without writing anything."""
    report = Report(files=gradable_files(root, limits))
    report.total_bytes = sum((root / rel).stat().st_size for rel in report.files)
    if report.total_bytes > limits.max_total_bytes:
        raise SubmissionError(
            oversize_message(
                Message(GRADABLE_FILES), report.total_bytes, limits.max_total_bytes, []
            )
        )
    newest_library = (0.0, "")
    for rel in report.files:
        if rel.endswith(".py"):
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
            before = len(report.regions)
            _regions_of(text.splitlines(), rel, markdown=False, report=report)
            if len(report.regions) > before:
                newest_library = max(newest_library, ((root / rel).stat().st_mtime, rel))
        else:
            _notebook(root, rel, report)
    stubs = [r for r in report.regions if not r.written]
    if stubs and len(stubs) < len(report.regions):
        names = ", ".join(r.name for r in stubs[:6]) + (", ..." if len(stubs) > 6 else "")
        report.warnings.append(
            _(
                "{count} of {total} regions still hold their stub (not attempted, 0 points): "
                "{names}"
            ).format(count=len(stubs), total=len(report.regions), names=names)
        )
    for nb in report.notebooks:
        if nb.run_cells and newest_library[0] > nb.saved + 1:
            report.warnings.append(
                _(
                    "{library} changed after {notebook} was last saved: the check results saved "
                    "in the notebook may be out of date; re-run its check cells and save"
                ).format(library=newest_library[1], notebook=nb.path)
            )
    return report


def summary(report: Report, root: Path) -> str:
    """The one-screen summary printed after writing the zip."""
    lines = [_("Submission: {path}").format(path=report.zip_path), ""]
    by_where: dict[str, list[Region]] = {}
    for region in report.regions:
        by_where.setdefault(region.where, []).append(region)
    lines.append(_("Notebooks (checks OK as last saved; cells run; your regions and answers):"))
    width = max((len(Path(nb.path).name) for nb in report.notebooks), default=0)
    for nb in report.notebooks:
        own = by_where.get(nb.path, [])
        code = [r for r in own if not r.markdown]
        answers = [r for r in own if r.markdown]
        line = _(
            "checks OK {ok:>2}/{checks:<2}  run {run:>3}/{cells:<3}  code {code}/{regions}  "
            "answers {answers}/{questions}"
        ).format(
            ok=nb.checks_ok,
            checks=nb.checks,
            run=nb.run_cells,
            cells=nb.code_cells,
            code=sum(r.written for r in code),
            regions=len(code),
            answers=sum(r.written for r in answers),
            questions=len(answers),
        )
        lines.append(f"  {Path(nb.path).name:<{width}} {line}")
    lines.append(_("Library functions you wrote (regions no longer holding the stub):"))
    for where, regions in sorted(by_where.items()):
        if where.endswith(".py"):
            done = sum(r.written for r in regions)
            lines.append(f"  {where:<40} {done}/{len(regions)}")
    lines.append(
        _(
            "{files} files, {unpacked:.2f} MB unpacked, zip {zipped:.2f} MB (checked with the "
            "grader's own limits)"
        ).format(
            files=len(report.files),
            unpacked=report.total_bytes / 1e6,
            zipped=report.zip_bytes / 1e6,
        )
    )
    if report.warnings:
        lines += ["", _("Warnings ({count}):").format(count=len(report.warnings))]
        shown = report.warnings[:12]
        lines += [f"  - {w}" for w in shown]
        if len(report.warnings) > len(shown):
            more = len(report.warnings) - len(shown)
            lines.append("  " + _("... and {count} more").format(count=more))
    lines += [
        "",
        _(
            "Inline-question answers are graded by a person; the checks are graded automatically "
            "on inputs you have not seen."
        ),
        _("Hand in {name} as your course says (e.g. upload it to Gradescope).").format(
            name=report.zip_path.name
        ),
    ]
    return "\n".join(lines)


def make_submission(root: Path, dest: Path, limits: UnpackLimits = UnpackLimits()) -> Report:
    """Inspect ``root``, write the zip to ``dest``, verify it; the report for the summary."""
    report = inspect(root, limits)
    expected = {rel: (root / rel).read_bytes() for rel in report.files}
    report.zip_bytes = write_zip(root, report.files, dest)
    try:
        verify_zip(dest, expected, limits)
    except SubmissionError:
        dest.unlink(missing_ok=True)
        raise
    report.zip_path = dest
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cs231n_lib.submit",
        description=_("Hand in your work: ``python -m cs231n_lib.submit`` (or ``cs231n-submit``)."),
    )
    parser.add_argument(
        "--root", type=Path, default=None, help=_("your course folder (default: this course's)")
    )
    parser.add_argument("--id", help=_("your student id: writes ID.zip instead of submission.zip"))
    parser.add_argument("--out", type=Path, help=_("where to write the zip (default: in --root)"))
    args = parser.parse_args(argv)
    root = (args.root or _default_root()).resolve()
    if args.id is not None and not _ID_RE.match(args.id):
        print(
            _("error: --id {id!r}: use letters, digits and . _ @ - only").format(id=args.id),
            file=sys.stderr,
        )
        return 2
    dest = args.out or root / f"{args.id or 'submission'}.zip"
    try:
        report = make_submission(root, dest.resolve())
    except (SubmissionError, OSError) as err:
        # A refusal in the student's language (its English is what the grader would store);
        # an OSError's text is the system's own.
        shown = err.message.shown() if isinstance(err, SubmissionError) else err
        print(_("error: {error}\nNothing was written.").format(error=shown), file=sys.stderr)
        return 1
    print(summary(report, root))
    return 0


def _default_root() -> Path:
    """The course folder: the current folder if it holds the course, else this package's."""
    here = Path.cwd()
    if (here / "cs231n_lib").is_dir() and (here / "notebooks").is_dir():
        return here
    return COURSE_ROOT


if __name__ == "__main__":
    sys.exit(main())
