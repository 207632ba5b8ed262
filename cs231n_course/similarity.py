"""``course similarity``: which submissions look alike, for a person to look at.

For each student region (library functions and notebook code cells), every pair of
submissions that wrote it is compared with copydetect's winnowed fingerprints over tokenised
code (pygments): variable names and literals are normalised and formatting and comments do not
count, and the fingerprints of the release's starter code (the stub) are removed as
boilerplate. Regions still holding the stub are skipped. The reference solution takes part as
the entry ``(solution)``, so a copied solution shows up too.

A pair's score is the share of its written code (tokens, over every region both wrote) that
copydetect finds in both. The report (``OUT/similarity.html``) ranks the pairs and shows the
regions side by side with the shared code highlighted. Short regions (one line that every
correct answer shares) carry little weight because the score is by tokens. It informs a
human; it never changes a grade, and nothing here is read by ``course grade``.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap

from cs231n_course import markers
from cs231n_course.grader.unpack import Submission, SubmissionError, student_id, unpack
from cs231n_course.grader.workspace import lift_regions
from cs231n_course.solutions import solution_regions

SOLUTION = "(solution)"
K, WINDOW = 12, 4  # k-gram length and winnowing window, in tokens (regions are short)


@dataclass
class RegionMatch:
    region: str
    overlap: int
    tokens: tuple[int, int]
    left: str  # highlighted HTML
    right: str


@dataclass
class Pair:
    a: str
    b: str
    overlap: int = 0
    tokens: int = 0
    regions: list[RegionMatch] = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.overlap / self.tokens if self.tokens else 0.0


def _fingerprint(text: str, boilerplate) -> CodeFingerprint:
    return CodeFingerprint(
        "region.py", K, WINDOW, boilerplate=boilerplate, fp=io.StringIO(text), language="python"
    )


def _dedent(region: markers.StudentRegion) -> str:
    return "\n".join(line[len(region.indent) :] if line.startswith(region.indent) else line
                     for line in region.body)  # fmt: skip


def collect(submissions: list[Path], course) -> tuple[dict[str, dict[str, str]], list[str]]:
    """``{student: {region: code}}`` of the written regions, and notes about refused ones."""
    found: dict[str, dict[str, str]] = {}
    notes = []
    stubs = _stubs(course)
    work = Path(tempfile.mkdtemp(prefix="cs231n-similarity-"))
    try:
        for path in submissions:
            student = student_id(Path(path))
            staging = work / student
            try:
                unpacked = unpack(Submission(Path(path), student), staging)
            except SubmissionError as err:
                notes.append(f"{student}: refused ({err})")
                continue
            regions = lift_regions(staging, unpacked.files, course.py_regions, course.notebooks)
            found[student] = _written({**_flat(regions.py), **_flat(regions.nb)}, stubs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    solution = solution_regions(course.source_root)
    found[SOLUTION] = _written(
        {name: _dedent(r) for by_name in solution.values() for name, r in by_name.items()},
        stubs,
    )
    return found, notes


def _flat(by_file: dict[str, dict[str, markers.StudentRegion]]) -> dict[str, str]:
    return {name: _dedent(r) for regions in by_file.values() for name, r in regions.items()}


def _written(regions: dict[str, str], stubs: dict[str, str]) -> dict[str, str]:
    return {n: t for n, t in regions.items() if t.strip() and t.strip() != stubs.get(n, "")}


def _stubs(course) -> dict[str, str]:
    stubs = {}
    for rel in course.py_regions:
        lines = (course.release_root / rel).read_text(encoding="utf-8").splitlines()
        for name, r in markers.read_student_regions(lines, rel).items():
            stubs[name] = _dedent(r).strip()
    for name in course.notebooks:
        nb = json.loads((course.release_root / "notebooks" / name).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell.get("cell_type") != "code":
                continue
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for region_name, r in markers.read_student_regions(source.splitlines(), name).items():
                stubs[region_name] = _dedent(r).strip()
    return stubs


def compare(found: dict[str, dict[str, str]], stubs: dict[str, str]) -> list[Pair]:
    """Every pair of entries, scored over the regions both wrote; best first."""
    prints: dict[tuple[str, str], CodeFingerprint] = {}
    for student, regions in found.items():
        for name, text in regions.items():
            boiler = _fingerprint(stubs[name], None).hashes if stubs.get(name) else None
            fingerprint = _fingerprint(text, list(boiler) if boiler else None)
            if fingerprint.token_coverage:
                prints[student, name] = fingerprint
    pairs = []
    for a, b in combinations(sorted(found), 2):
        pair = Pair(a, b)
        for name in sorted(set(found[a]) & set(found[b])):
            fa, fb = prints.get((a, name)), prints.get((b, name))
            if fa is None or fb is None:
                continue
            overlap, _, (slices_a, slices_b) = compare_files(fa, fb)
            pair.tokens += int(min(fa.token_coverage, fb.token_coverage))
            pair.overlap += int(min(overlap, fa.token_coverage, fb.token_coverage))
            if overlap:
                pair.regions.append(
                    RegionMatch(
                        name,
                        int(overlap),
                        (fa.token_coverage, fb.token_coverage),
                        _highlight(fa.raw_code, slices_a),
                        _highlight(fb.raw_code, slices_b),
                    )
                )
        if pair.tokens:
            pairs.append(pair)
    return sorted(pairs, key=lambda p: (-p.score, -p.overlap, p.a, p.b))


def _highlight(code: str, slices) -> str:
    if len(slices[0]) == 0:
        return html.escape(code)
    marked, _ = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return marked


def report_html(pairs: list[Pair], notes: list[str], top: int) -> str:
    rows, sections = [], []
    for rank, p in enumerate(pairs[:top], start=1):
        rows.append(
            f'<tr><td>{rank}</td><td><a href="#p{rank}">{html.escape(p.a)} / '
            f"{html.escape(p.b)}</a></td><td>{p.score:.0%}</td><td>{p.overlap} of "
            f"{p.tokens}</td><td>{len(p.regions)}</td></tr>"
        )
        parts = [
            f'<h3>{html.escape(r.region)}: {r.overlap} tokens shared</h3><div class="pair">'
            f"<pre>{r.left}</pre><pre>{r.right}</pre></div>"
            for r in sorted(p.regions, key=lambda r: -r.overlap)
        ]
        sections.append(
            f'<section id="p{rank}"><h2>{rank}. {html.escape(p.a)} / {html.escape(p.b)}: '
            f"{p.score:.0%}</h2>{''.join(parts)}</section>"
        )
    note_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\"><title>Similarity report</title><style>"
        "body{font:14px/1.4 system-ui,sans-serif;margin:1em} table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px} .pair{display:grid;"
        "grid-template-columns:1fr 1fr;gap:8px} pre{background:#f7f7f7;padding:6px;"
        "overflow:auto} mark{background:#ffe08a}</style></head><body>"
        "<h1>Similarity report</h1><p>For a person to read: similar code is not proof of "
        "copying (short regions and the course's hints make correct answers alike). This "
        "report never changes a grade. Score: share of the tokens two entries wrote in the "
        "same regions that copydetect finds in both, starter code removed.</p>"
        f"<table><tr><th>#</th><th>pair</th><th>score</th><th>tokens shared</th>"
        f"<th>regions</th></tr>{''.join(rows)}</table>"
        f"{f'<h2>Not compared</h2><ul>{note_html}</ul>' if notes else ''}"
        f"{''.join(sections)}</body></html>\n"
    )


def run(submissions: list[Path], out: Path, source: Path, top: int = 50) -> tuple[Path, list]:
    from cs231n_course.grader.course import load_course
    from cs231n_lib.atomic import write_atomic

    cache = out / ".grader" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    course = load_course(Path(source), cache)
    found, notes = collect(submissions, course)
    pairs = compare(found, _stubs(course))
    dest = out / "similarity.html"
    write_atomic(dest, report_html(pairs, notes, top))
    return dest, pairs


def add_parser(subparsers, repo_root: Path) -> None:
    p = subparsers.add_parser("similarity", help="rank similar submissions (never grades)")
    p.add_argument("submissions", nargs="+", type=Path, help="release folders or .zip files")
    p.add_argument("--out", required=True, type=Path, help="folder for similarity.html")
    p.add_argument("--source", type=Path, default=repo_root, help="instructor source tree")
    p.add_argument("--top", type=int, default=50, help="pairs to show")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    dest, pairs = run(args.submissions, args.out, args.source, args.top)
    print(f"wrote {dest}: {len(pairs)} pairs compared; most similar:")
    for p in pairs[:5]:
        print(f"  {p.score:4.0%}  {p.a} / {p.b}  ({p.overlap} of {p.tokens} tokens)")
    return 0
