"""The notebooks' text stays true: stored outputs agree with the words beside them, and no number
from a computation is typed into markdown.

- A stored output may not show an error, a warning, a failed comparison or a timing that
  contradicts the text ("faster" that is slower).
- Every percentage, duration and speed-up factor in markdown is listed in ``MARKDOWN_NUMBERS``
  with where it comes from: a reference stated by CS231n (not ours to measure), a check's
  threshold (asserted against the check's constant here), a goal the course's solution reaches
  (asserted by the slow full-mode test, ``tests/test_notebooks_full.py``), or an explanation that
  is not a measurement. A new number in a notebook fails this test until it is classified, so a
  measured number cannot be typed in and then go stale: print it from a cell instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from cs231n_lib.checks import layers as layer_checks
from cs231n_lib.checks import linear as linear_checks

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# A tqdm progress bar is the only thing the course writes to stderr on purpose.
PROGRESS = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\|\s*\d+/\d+ \[")
# Printed words that mean a comparison in a stored output went wrong.
BAD_WORDS = re.compile(r"fast == naive: False|: DIFFER|DIFFERENT|FAILED|SLOWER|Traceback|Warning\b")
FASTER = re.compile(r"\((?P<ratio>\d+(?:\.\d+)?)x (?:faster|the speed)")
SPEEDUP = re.compile(r"speed-up (?P<ratio>\d+(?:\.\d+)?)x")

NUMBER = re.compile(
    r"(?<![\d×.,])\d[\d,]*(?:\.\d+)?(?:\s?%|×(?![\d*])|x faster|x slower"
    r"|\s(?:ms|s|min|minutes|seconds|hours)\b)"
)

REFERENCE = "a reference stated by CS231n's notebooks, not measured here"
EXPLAINED = "part of an explanation, not a measurement"
GOAL = "a goal the course's solution reaches in full mode (tests/test_notebooks_full.py)"


def _threshold(value):
    return f"a check's threshold ({value})"


MARKDOWN_NUMBERS = {
    "01_knn": {"27%": REFERENCE, "28%": REFERENCE, "100%": EXPLAINED},
    "02_svm": {
        "39%": GOAL,
        f"{round(100 * linear_checks.MIN_VAL_ACCURACY['svm']['full'])}%": _threshold("svm full"),
        f"{round(100 * linear_checks.MIN_VAL_ACCURACY['svm']['fast'])}%": _threshold("svm fast"),
        "40%": EXPLAINED,
    },
    "03_softmax": {
        "40%": GOAL,
        "35%": REFERENCE,
        f"{round(100 * linear_checks.MIN_VAL_ACCURACY['softmax']['full'])}%": _threshold("full"),
        f"{round(100 * linear_checks.MIN_VAL_ACCURACY['softmax']['fast'])}%": _threshold("fast"),
    },
    "04_two_layer_net": {
        f"{round(100 * layer_checks.TWO_LAYER_GOAL['full'])}%": _threshold("two-layer full"),
        f"{round(100 * layer_checks.TWO_LAYER_GOAL['fast'])}%": _threshold("two-layer fast"),
        "52%": GOAL,
        "10%": EXPLAINED,  # chance on 10 classes
        "40%": EXPLAINED,  # the linear classifiers, printed by notebooks 02 and 03
        "10×": EXPLAINED,
        "3×": EXPLAINED,
        "30×": EXPLAINED,
    },
    "05_fully_connected_nets": {"100%": EXPLAINED},  # memorising a tiny training set
    "06_conv_net": {"100%": EXPLAINED, "40%": REFERENCE},
}


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def nb(request):
    return request.param.stem, nbformat.read(str(request.param), as_version=4)


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type in ("execute_result", "display_data"):
        return str(output.get("data", {}).get("text/plain", ""))
    return ""


def test_stored_outputs_show_no_error_warning_or_failed_comparison(nb):
    name, book = nb
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            assert output.output_type != "error", f"{name} ({cell.id}) stored an error"
            text = _text(output)
            if output.output_type == "stream" and output.name == "stderr":
                lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
                stray = [line for line in lines if not PROGRESS.search(line)]
                assert not stray, (
                    f"{name} ({cell.id}) wrote to stderr (a warning the course did not intend?): "
                    f"{stray[0][:200]!r}"
                )
                continue
            bad = BAD_WORDS.search(text)
            assert not bad, f"{name} ({cell.id}) stored output says {bad[0]!r}: {text[:300]!r}"


def test_stored_timings_agree_with_the_words_beside_them(nb):
    name, book = nb
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(_text(o) for o in cell.outputs)
        for pattern in (FASTER, SPEEDUP):
            for match in pattern.finditer(text):
                ratio = float(match["ratio"])
                assert ratio >= 1.0 or "the speed" in match[0], (
                    f"{name} ({cell.id}) prints {match[0]!r}: a ratio below 1 is slower, not "
                    f"faster; re-execute on a quieter machine or fix the code"
                )
        if "speed-up" in text or "faster than" in text:
            for match in re.finditer(r"speed-up (\d+)x|\((\d+)x faster than", text):
                assert int(match[1] or match[2]) > 1, f"{name} ({cell.id}): {match[0]!r}"


def test_every_number_in_markdown_is_classified(nb):
    name, book = nb
    allowed = MARKDOWN_NUMBERS.get(name, {})
    unknown = []
    for cell in book.cells:
        if cell.cell_type != "markdown":
            continue
        for match in NUMBER.finditer(cell.source):
            number = re.sub(r"\s+", "", match[0])
            if number not in allowed:
                start = max(0, match.start() - 50)
                unknown.append(f"{cell.id}: {number!r} in ...{cell.source[start : match.end()]!r}")
    assert not unknown, (
        f"{name}: numbers in markdown that are not classified in MARKDOWN_NUMBERS (print a "
        f"measured number from a cell and refer to it instead of typing it):\n" + "\n".join(unknown)
    )


def test_classified_numbers_are_still_used(nb):
    """An entry whose number left the notebook is removed, so the list stays a true account."""
    name, book = nb
    text = "\n".join(c.source for c in book.cells if c.cell_type == "markdown")
    found = {re.sub(r"\s+", "", m[0]) for m in NUMBER.finditer(text)}
    stale = sorted(set(MARKDOWN_NUMBERS.get(name, {})) - found)
    assert not stale, f"{name}: MARKDOWN_NUMBERS lists {stale}, which the notebook no longer says"


def _paragraph(source: str, start: str) -> str:
    i = source.index(start)
    end = source.find("\n\n", i)
    return source[i : end if end >= 0 else len(source)]


def test_one_regularisation_convention_word_for_word():
    paragraphs = {}
    for path in NOTEBOOKS[1:4]:  # 02_svm, 03_softmax, 04_two_layer_net
        book = nbformat.read(str(path), as_version=4)
        title = next(c for c in book.cells if c.cell_type == "markdown").source
        paragraphs[path.stem] = _paragraph(title, "**Regularisation convention.**")
    assert len(set(paragraphs.values())) == 1, paragraphs
    text = next(iter(paragraphs.values()))
    assert "cs231n/classifiers/fc_net.py" in text and "linear_svm.py" in text


def test_every_softmax_todo_gives_the_same_underflow_hint():
    hint = "underflows to exactly 0"
    sources = {
        "linear.py": (REPO / "cs231n_lib/classifiers/linear.py").read_text(),
        "layers.py": (REPO / "cs231n_lib/layers.py").read_text(),
    }
    assert sources["linear.py"].count(hint) == 2  # softmax_loss_naive and _vectorized
    assert sources["layers.py"].count(hint) == 1  # softmax_loss
    for name in ("03_softmax",):
        book = nbformat.read(str(REPO / f"notebooks/{name}.ipynb"), as_version=4)
        assert any(hint in c.source for c in book.cells if c.cell_type == "markdown")


def test_the_challenge_text_describes_the_benchmarks_recipe():
    """Notebook 06's challenge cell says what ``benchmarks/convnet_cifar10.py`` does by default:
    the budget, the warm-up, label smoothing and the shifts. A changed default fails here until
    the text (and its Korean translation) follows."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "convnet_cifar10", REPO / "benchmarks" / "convnet_cifar10.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = bench.build_parser().parse_args([])
    nb = nbformat.read(REPO / "notebooks" / "06_conv_net.ipynb", as_version=4)
    (intro,) = [c for c in nb.cells if c.get("id") == "challenge-intro"]
    text = " ".join(intro.source.split())
    assert f"within a {args.minutes:g}-minute budget" in text
    assert ("warm-up" in text) == (args.warmup > 0)
    assert ("label smoothing" in text) == (args.label_smoothing > 0)
    assert (f"shifts of up to {args.translate} pixels" in text) == (args.translate > 0)
    assert ("mirrored test images" in text) == (not args.no_tta)
