"""The library's argument and data errors in the student's language.

A sample, at least one per module: under ``CS231N_LANG=en`` each error is the English text
byte for byte (the grader quotes it and tests compare it), under ``ko`` it is the catalogue's
Korean, with the same exception type. That every message has a current translation at all is
tests/test_translations.py's job.
"""

from __future__ import annotations

import ast
import importlib
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from cs231n_lib import config, i18n
from cs231n_lib.data import _common, cifar10, embedded, official

# cs231n_lib.data.download is also the name of a function the package exports: the module
download = importlib.import_module("cs231n_lib.data.download")

HANGUL = r"[\uac00-\ud7a3]"
LIB = Path(i18n.__file__).resolve().parent


def _affine():
    from cs231n_lib import layers

    layers.affine_forward(np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5))


def _batchnorm_gamma():
    from cs231n_lib import layers

    layers.batchnorm_forward(np.zeros((4, 3)), np.ones(2), np.zeros(3), {"mode": "train"})


def _dropout():
    from cs231n_lib import layers

    layers.dropout_forward(np.zeros(3), {"p": 0, "mode": "train"})


def _fc_net():
    from cs231n_lib.classifiers.fc_net import FullyConnectedNet

    FullyConnectedNet([10], normalization="groupnorm")


def _knn():
    from cs231n_lib.classifiers.knn import KNearestNeighbor

    KNearestNeighbor().predict_labels(np.zeros((2, 3)))


def _linear_load(tmp_path):
    from cs231n_lib.classifiers.linear import LinearSVM

    LinearSVM().load(tmp_path / "w.npz")


def _two_layer():
    from cs231n_lib.classifiers.two_layer_net import TwoLayerNet

    TwoLayerNet(reg=-1)


def _solver():
    from cs231n_lib.classifiers.two_layer_net import TwoLayerNet
    from cs231n_lib.solver import Solver

    Solver(TwoLayerNet(input_dim=4, hidden_dim=3), {"X_train": np.zeros((2, 4))})


def _rel_error():
    from cs231n_lib.gradient_check import rel_error

    rel_error(np.zeros(2), np.zeros(3))


def _vis():
    from cs231n_lib.vis import visualize_grid

    visualize_grid(np.zeros((2, 3, 3)))


def _optim():
    from cs231n_lib.optim import sgd

    sgd(np.zeros(2), np.zeros(2), {"learning_rte": 1e-2})


def _widget_templates():
    from cs231n_lib.widgets_linear import weights_to_templates

    weights_to_templates(np.zeros((10, 2)))


def _widget_graph():
    from cs231n_lib.widgets_two_layer import AffineGraph

    AffineGraph(activation="tanh")


def _checksum():
    raise _common.checksum_error(
        _common.REPO_ROOT / "datasets" / "x.bin", "md5", "abc", "def", official._fix()
    )


def _official_missing(tmp_path):
    official.verify_official(tmp_path)


def _embedded_missing(tmp_path):
    embedded.verify_archive(embedded.EmbeddedArchive(tmp_path / "copy.tar.gz", "0" * 64))


def _download_link():
    member = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    member.type = tarfile.SYMTYPE
    download._check_member(member, Path("/tmp/cs231n-dest"), url="https://example.org/c.tgz")


def _sizes():
    cifar10._check_sizes(49000, 2000, 1000, 500)


def _fast_conv():
    from cs231n_lib.fast_layers import conv_forward_fast

    w = np.zeros((2, 2, 3, 3))
    conv_forward_fast(np.zeros((1, 3, 4, 4)), w, np.zeros(2), {"stride": 1, "pad": 1})


def _cnn():
    from cs231n_lib.classifiers.cnn import ThreeLayerConvNet

    ThreeLayerConvNet(filter_size=4)


CASES = [
    (
        _affine,
        ValueError,
        "affine_forward: x of shape (2, 3) has D = 3 numbers per example, so w must have shape "
        "(D, M) = (3, M) and b shape (M,); got w (4, 5) and b (5,)",
    ),
    (
        _batchnorm_gamma,
        ValueError,
        "batchnorm_forward: gamma must have shape (3,), one value per feature; got shape (2,)",
    ),
    (
        _dropout,
        ValueError,
        "dropout_forward: dropout_param['p'] is the probability of keeping a unit and must be "
        "in (0, 1], got 0 (p = 1 keeps every unit: no dropout)",
    ),
    (
        _fc_net,
        ValueError,
        "normalization must be None, 'batchnorm' or 'layernorm', got 'groupnorm'",
    ),
    (_knn, RuntimeError, "call train(X, y) before predicting"),
    (
        _linear_load,
        FileNotFoundError,
        "no weights file at {tmp}/w.npz; write one first with classifier.save('{tmp}/w.npz')",
    ),
    (_two_layer, ValueError, "reg must be >= 0, got -1"),
    (
        _solver,
        KeyError,
        "data is missing ['y_train', 'X_val', 'y_val']; the Solver needs ['X_train', "
        "'y_train', 'X_val', 'y_val']",
    ),
    (_rel_error, ValueError, "rel_error: shapes differ: (2,) vs (3,)"),
    (
        _vis,
        ValueError,
        "visualize_grid expects images of shape (N, H, W, C), got shape (2, 3, 3); for "
        "channels-first data pass Xs.transpose(0, 2, 3, 1)",
    ),
    (
        _optim,
        ValueError,
        "sgd: unknown config key(s) ['learning_rte']; valid keys are ['learning_rate']",
    ),
    (
        _widget_templates,
        ValueError,
        "expected weights of shape (3072, C) or (3073, C) for 32x32x3 images, got (10, 2)",
    ),
    (
        _widget_graph,
        ValueError,
        "activation must be one of ('none', 'relu', 'sigmoid'), got 'tanh'",
    ),
    (
        _checksum,
        _common.DatasetError,
        "datasets/x.bin: md5 mismatch: expected abc, got def; the file is corrupt or not the "
        "expected one. Run: python -m cs231n_lib.data download --force (it replaces the folder)",
    ),
    (
        _official_missing,
        _common.DatasetError,
        "{tmp}/data_batch_1: missing; the official CIFAR-10 folder must hold data_batch_1, "
        "data_batch_2, data_batch_3, data_batch_4, data_batch_5, test_batch, batches.meta. "
        "Run: python -m cs231n_lib.data download --force (it replaces the folder)",
    ),
    (
        _embedded_missing,
        _common.DatasetError,
        "{tmp}/copy.tar.gz: the embedded CIFAR-10 copy is missing. Restore it: git checkout -- "
        "{tmp}/copy.tar.gz",
    ),
    (
        _download_link,
        _common.DatasetError,
        "https://example.org/c.tgz: refusing tar member 'cifar-10-batches-py/data_batch_1': it "
        "is a link or special file (the official tarball has none); nothing was extracted. This "
        "is not the official cifar-10-python.tar.gz; use the official URL: python -m "
        "cs231n_lib.data download",
    ),
    (
        _sizes,
        ValueError,
        "num_training + num_validation = 49000 + 2000 = 51000, but CIFAR-10 has only 50000 "
        "training images",
    ),
    (
        _fast_conv,
        ValueError,
        "filters have depth 2 but the input has depth 3: w must have shape (F, 3, HH, WW)",
    ),
    (
        _cnn,
        ValueError,
        "filter_size must be odd so that pad (filter_size - 1)/2 keeps the size, got 4; use 3 or 5",
    ),
]


def _raise(case, tmp_path):
    fn, kind, _english = case
    args = (tmp_path,) if fn.__code__.co_argcount else ()
    with pytest.raises(kind) as info:
        fn(*args)
    assert type(info.value) is kind
    return info.value.args[0]  # KeyError's str() would add quotes


@pytest.mark.parametrize("case", CASES, ids=[fn.__name__.strip("_") for fn, _k, _e in CASES])
def test_error_in_english_and_in_korean(case, tmp_path, monkeypatch):
    monkeypatch.setattr(config, "LANG", "en")
    english = _raise(case, tmp_path)
    assert english == case[2].format(tmp=tmp_path)
    monkeypatch.setattr(config, "LANG", "ko")
    korean = _raise(case, tmp_path)
    assert re.search(HANGUL, korean), korean
    assert korean != english


def test_the_word_in_a_shape_error_is_translated_too(monkeypatch, tmp_path):
    """_check_affine_params names what gamma has one value per ("feature"/"channel")."""
    monkeypatch.setattr(config, "LANG", "ko")
    assert "특성마다" in _raise(CASES[1], tmp_path)


def _functions_with_a_student_region(path: Path):
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if any("BEGIN SOLUTION" in line for line in lines[node.lineno - 1 : node.end_lineno]):
                yield node


def test_no_bare_underscore_call_where_a_student_writes_code():
    """A function with a student region must translate with ``i18n._``, not ``_``: a student's
    ``for _ in range(...)`` (or ``out, _ = ...``) anywhere in that function makes ``_`` a local
    name of the whole function, and the error message would become an UnboundLocalError."""
    offenders = []
    for path in sorted(LIB.rglob("*.py")):
        for fn in _functions_with_a_student_region(path):
            for node in ast.walk(fn):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "_"
                ):
                    offenders.append(f"{path.relative_to(LIB)}:{node.lineno} in {fn.name}")
    assert not offenders, "use i18n._(...) here: " + ", ".join(offenders)


def test_a_student_underscore_does_not_break_the_error(monkeypatch):
    """affine_forward with a student's ``for _ in ...`` in its region still raises its error."""
    from cs231n_lib import layers

    source = Path(layers.__file__).read_text(encoding="utf-8")
    marker = "    ### BEGIN SOLUTION\n    N = x.shape[0]\n"
    assert marker in source
    namespace = {"__name__": "cs231n_lib.layers_student"}
    exec(  # noqa: S102 - the library's own source with one line a student might write
        compile(source.replace(marker, marker + "    for _ in range(1):\n        pass\n"),
                layers.__file__, "exec"),
        namespace,
    )  # fmt: skip
    monkeypatch.setattr(config, "LANG", "ko")
    with pytest.raises(ValueError, match="affine_forward: 모양이"):
        namespace["affine_forward"](np.zeros((2, 3)), np.zeros((4, 5)), np.zeros(5))


def test_data_verify_command_in_korean(tmp_path, monkeypatch, capsys):
    """``python -m cs231n_lib.data verify`` on an empty data folder (tests/test_data.py has the
    English lines)."""
    from cs231n_lib.data.cli import main

    monkeypatch.setenv("CS231N_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(config, "LANG", "ko")
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "데이터 폴더: " in out and " ($CS231N_DATA_DIR에서 지정)\n" in out
    assert "공식 배치: " in out and ": 없음 (선택 사항. 받으려면: python -m cs231n_lib.data" in out
    assert "내장 JPEG-75 사본: 실패: " in out and "내장 CIFAR-10 사본이 없습니다" in out
    assert "복원하세요: git checkout -- " in out
    assert "load_cifar10()은(는) 실패합니다: 쓸 수 있는 CIFAR-10 사본이 없습니다" in out


def _binds_underscore(fn) -> bool:
    """Whether ``fn`` itself (not a comprehension or nested function in it) assigns ``_``."""
    todo = list(ast.iter_child_nodes(fn))
    while todo:
        node = todo.pop()
        if isinstance(
            node,
            ast.ListComp
            | ast.SetComp
            | ast.DictComp
            | ast.GeneratorExp
            | ast.FunctionDef
            | ast.AsyncFunctionDef
            | ast.Lambda
            | ast.ClassDef,
        ):
            continue
        if isinstance(node, ast.Name) and node.id == "_" and isinstance(node.ctx, ast.Store):
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


def test_no_function_both_binds_and_calls_underscore():
    """``prod, cols, _ = ...`` and ``_("...")`` in one function: the message is an
    UnboundLocalError (or calls whatever was unpacked)."""
    offenders = []
    for path in sorted(LIB.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and _binds_underscore(fn):
                calls = [
                    node.lineno
                    for node in ast.walk(fn)
                    if isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "_"
                ]
                if calls:
                    offenders.append(f"{path.relative_to(LIB)}:{calls[0]} in {fn.name}")
    assert not offenders, "use i18n._(...) here: " + ", ".join(offenders)


def test_an_unknown_language_is_named_in_every_language():
    """CS231N_LANG=kr (a country, not a language): the setting itself is wrong, so the error
    says so in English and in Korean."""
    import subprocess
    import sys

    env = {"CS231N_LANG": "kr", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", "import cs231n_lib.config"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert done.stderr.endswith(
        "ValueError: CS231N_LANG='kr' is not a language of this course; set it to one of en, ko "
        "or unset it (English)\nCS231N_LANG='kr'은(는) 이 과정의 언어가 아닙니다. en, ko 중 "
        "하나로 설정하거나(한국어는 ko), 설정을 지우세요(영어)\n"
    ), done.stderr


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_bad_thread_count_says_what_to_do_in_the_students_language(lang):
    """CS231N_NUM_THREADS is a setting a student may change: a bad value stops the import of
    the fast layers with the fix, in the student's language."""
    import subprocess
    import sys

    env = {"CS231N_LANG": lang, "CS231N_NUM_THREADS": "two", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", "import cs231n_lib.fast_layers"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    if lang == "en":
        assert last == (
            "ValueError: CS231N_NUM_THREADS must be a positive integer, got 'two'; unset it to "
            "use every core this process may use, or set it to 1 to turn threading off"
        ), done.stderr
    else:
        assert last.startswith("ValueError: CS231N_NUM_THREADS는 양의 정수여야") and "'two'" in last


@pytest.mark.parametrize(
    "command", [["submit"], ["lab"], ["data"], ["data", "download"], ["data", "verify"]]
)
def test_the_commands_help_is_in_the_students_language(command):
    """--help of the student's commands: our descriptions and option texts in Korean; only
    argparse's own words (usage, options, -h) stay English."""
    import subprocess
    import sys

    module, *rest = command
    runs = {}
    for lang in ("en", "ko"):
        env = {"CS231N_LANG": lang, "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
        done = subprocess.run(
            [sys.executable, "-m", f"cs231n_lib.{module}", *rest, "--help"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs[lang] = done.stdout
    ours = [
        line for line in runs["ko"].splitlines()
        if line.strip() and not line.startswith(("usage:", "options:", "positional arguments:"))
        and "show this help message" not in line and not line.lstrip().startswith("{")
        and not re.fullmatch(r"\s+--?[\w-]+( [A-Z_]+)?", line)  # an option alone on its line
    ]  # fmt: skip
    assert ours, runs["ko"]
    for line in ours:
        assert re.search(HANGUL, line), (line, runs["ko"])
    assert not re.search(HANGUL, runs["en"]), runs["en"]
