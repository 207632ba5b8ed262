"""The grader's reasons and notes in Korean, translated when a Korean feedback page is drawn.

The grader writes, stores and compares its reasons in English: results JSON, the gradebook,
the instructors' summary and the hostile corpus's expectations all keep the English text. A
student who answered in Korean reads them in Korean on the feedback page, so the translation
happens here, at render time: each entry of :data:`TEMPLATES` pairs the English a grader module
writes (``scoring``, ``submission``, ``tuning``, ``workspace``, ``regions``, ``unpack``) with
its Korean. The English side is parsed back: a ``{field}`` matches any text. Fields named in
:data:`NESTED` hold a reason themselves and are translated in turn; every other field (student
text, error messages, names, numbers) is kept exactly as it is. A reason that no template
matches stays English; ``tests/test_i18n_grading.py`` makes every reason the grader can write
match one.

A whole-submission refusal is not parsed back: the grader stores its template and fields beside
the English (``SubmissionResult.refused_message``, from ``submission_rules.Message``), and
:func:`translate_refusal` formats the catalogue's Korean of that template.
"""

from __future__ import annotations

import functools
import re
import string

# Fields that are reasons of their own (translated recursively); the rest are quoted as is,
# except an error's message (``evalue``), which is shown in Korean when it is the library's own
# text: a stub's message, or a message of the library's Korean catalogue.
NESTED = frozenset({"reason", "cause", "why", "problem", "first", "second"})
LIBRARY_TEXT = frozenset({"evalue"})

TEMPLATES: tuple[tuple[str, str], ...] = (
    # --- composites first: a reason with a cause after it (scoring.score_pass) -------------
    (
        "{reason}; the cell holding your region {exercise} {cause}",
        "{reason}. 여러분의 영역 {exercise}이(가) 들어 있는 셀이 {cause}",
    ),
    ("{reason}; it also wrote to stderr: {line}", "{reason}. 또한 stderr에 {line}을(를) 썼습니다"),
    (
        "raised {ename}: {evalue} (shell commands, !cmd, found no terminal on this grading "
        "machine: use Python)",
        "{ename}을(를) 일으켰습니다: {evalue} (이 채점 기기에서는 셸 명령 !cmd에 필요한 터미널을 "
        "찾지 못했습니다. Python으로 하세요)",
    ),
    ("wrote to stderr: {line}", "stderr에 {line}을(를) 썼습니다"),
    (
        "wrong results on the hidden grading inputs: {keys}; does not hold on the hidden "
        "grading inputs: {more}",
        "채점용 숨겨진 입력에서 결과가 틀렸습니다: {keys}. 채점용 숨겨진 입력에서 성립하지 "
        "않습니다: {more}",
    ),
    # --- scoring: one exercise --------------------------------------------------------------
    ("passed on the hidden grading inputs", "채점용 숨겨진 입력에서 통과했습니다"),
    ("the check cell was skipped", "확인 셀이 건너뛰어졌습니다"),
    (
        "output too large: the check cell printed {size} MB, more than the {limit} MB a cell "
        "may print under the grader, so the rest was dropped and its results could not be "
        "read; remove prints inside loops and print summaries (shapes, a few values), not "
        "whole arrays",
        "출력이 너무 큽니다. 확인 셀이 {size} MB를 출력했는데, 채점기에서 셀 하나가 출력할 수 "
        "있는 {limit} MB보다 많아서 나머지는 버려졌고 결과를 읽을 수 없었습니다. 반복문 안의 "
        "print를 지우고, 배열 전체가 아니라 요약(모양, 값 몇 개)을 출력하세요",
    ),
    ("your code was not used: {why}", "여러분의 코드가 쓰이지 않았습니다: {why}"),
    (
        "the check's own state was changed while it ran (does your code inspect the call "
        "stack or change the check's objects?); the check must run unchanged",
        "확인이 실행되는 동안 확인 자신의 상태가 바뀌었습니다(여러분의 코드가 호출 스택을 "
        "들여다보거나 확인의 객체를 바꾸나요?). 확인은 바뀌지 않은 채로 실행되어야 합니다",
    ),
    ("raised {ename}: {evalue}", "{ename}을(를) 일으켰습니다: {evalue}"),
    (
        "the check did not print its results (printed {printed}); the check must run "
        "unchanged, do not replace check() or print",
        "확인이 결과를 출력하지 않았습니다({printed}을(를) 출력함). 확인은 바뀌지 않은 채로 "
        "실행되어야 합니다. check()나 print를 바꿔치기하지 마세요",
    ),
    (
        "wrong results on the hidden grading inputs: {keys}",
        "채점용 숨겨진 입력에서 결과가 틀렸습니다: {keys}",
    ),
    (
        "does not hold on the hidden grading inputs: {keys}",
        "채점용 숨겨진 입력에서 성립하지 않습니다: {keys}",
    ),
    (
        "printed extra output ({line}); remove debugging prints",
        "필요 없는 출력을 냈습니다({line}). 디버깅용 print를 지우세요",
    ),
    ("output differs from the reference solution's", "출력이 정답 코드의 출력과 다릅니다"),
    (
        "the kernel stopped answering in Jupyter's message format (nbval read {message} from "
        "it); does your code write to the kernel's sockets, or replace its session, stdout or "
        "display hooks?",
        "커널이 Jupyter의 메시지 형식으로 응답하지 않게 되었습니다(nbval이 {message}을(를) "
        "읽음). 여러분의 코드가 커널의 소켓에 쓰거나, 세션, stdout, 표시 훅을 바꾸나요?",
    ),
    ("failed: {message}", "실패했습니다: {message}"),
    (
        "the check cell did not finish within the {seconds} s time limit per cell (an endless "
        "loop, or far too slow)",
        "확인 셀이 셀당 시간 제한 {seconds}초 안에 끝나지 않았습니다(무한 루프이거나 너무 "
        "느립니다)",
    ),
    (
        "the kernel was killed for using more than the memory limit ({mib} MiB)",
        "커널이 메모리 제한({mib} MiB)보다 많이 써서 강제 종료되었습니다",
    ),
    (
        "the kernel was killed for using more than {seconds} s of CPU time",
        "커널이 CPU 시간을 {seconds}초보다 많이 써서 강제 종료되었습니다",
    ),
    (
        "the kernel died (killed by {signal}) while running this cell",
        "이 셀을 실행하는 동안 커널이 죽었습니다({signal}에 의해 종료됨)",
    ),
    (
        "the kernel exited (exit status {status}) while running this cell; does your code "
        "call exit(), sys.exit() or os._exit()?",
        "이 셀을 실행하는 동안 커널이 끝났습니다(종료 상태 {status}). 여러분의 코드가 exit(), "
        "sys.exit(), os._exit()를 부르나요?",
    ),
    ("the kernel died while running this cell", "이 셀을 실행하는 동안 커널이 죽었습니다"),
    (
        "the check cell was running when the notebook's time limit or a resource limit "
        "stopped the run (the kernel or nbval was killed)",
        "노트북의 시간 제한이나 자원 제한으로 실행이 멈췄을 때 확인 셀이 실행 중이었습니다"
        "(커널이나 nbval이 강제 종료됨)",
    ),
    # --- submission -------------------------------------------------------------------------
    ("submission refused", "제출물이 거부되었습니다"),
    (
        "not graded: the kernel crashed or hung before this check in each of {passes} runs",
        "채점되지 않았습니다: {passes}번의 실행 모두에서 이 확인 전에 커널이 죽거나 멈췄습니다",
    ),
    ("not graded: worker crashed", "채점되지 않았습니다: 채점 작업자가 죽었습니다"),
    (
        "{notebook} cell {cell}: your code left {count} processes running (a fork?); they "
        "were stopped when the cell ended",
        "{notebook} 셀 {cell}: 여러분의 코드가 프로세스 {count}개를 실행 중인 채로 남겼습니다"
        "(fork?). 셀이 끝날 때 멈췄습니다",
    ),
    # --- tuning (the grader re-evaluates exported weights) ----------------------------------
    (
        "your model's weights, evaluated by the grader on the validation split, reach {acc}; "
        "the goal is {goal} (tune further)",
        "채점기가 검증 데이터에서 평가한 여러분의 모델 가중치의 정확도는 {acc}입니다. 목표는 "
        "{goal}입니다(하이퍼파라미터를 더 조정하세요)",
    ),
    (
        "the grader could not evaluate your model: {problem}",
        "채점기가 여러분의 모델을 평가할 수 없었습니다: {problem}",
    ),
    ("the exported model has no {names}", "내보낸 모델에 {names}이(가) 없습니다"),
    (
        "the model's {key} is not an array of finite numbers",
        "모델의 {key}이(가) 유한한 숫자의 배열이 아닙니다",
    ),
    # --- regions and files (workspace, regions, unpack) -------------------------------------
    (
        "{name} ({path}): {problem}; graded as not written",
        "{name} ({path}): {problem}. 작성하지 않은 것으로 채점했습니다",
    ),
    (
        "{path} is missing from the submission: its functions keep the stubs",
        "제출물에 {path}이(가) 없습니다. 그 파일의 함수는 스텁 그대로입니다",
    ),
    (
        "{path} is missing from the submission: its cells keep the stubs",
        "제출물에 {path}이(가) 없습니다. 그 노트북의 셀은 스텁 그대로입니다",
    ),
    (
        "{path} is not UTF-8 text, so none of its regions could be read; its regions are "
        "graded as not written",
        "{path}이(가) UTF-8 텍스트가 아니어서 어느 영역도 읽을 수 없었습니다. 그 파일의 "
        "영역은 작성하지 않은 것으로 채점했습니다",
    ),
    (
        "the marker lines of {path} are damaged ({error}): none of its regions were read; "
        "restore the begin/end lines from the release",
        "{path}의 표시 줄이 손상되었습니다({error}). 어느 영역도 읽지 않았습니다. 배포본에서 "
        "시작/끝 줄을 되살리세요",
    ),
    (
        "no region {name} in {path}: its begin/end lines were not found (edited, removed, or "
        "typed with look-alike characters); restore them from the release",
        "{path}에 영역 {name}이(가) 없습니다. 시작/끝 줄을 찾지 못했습니다(고쳤거나, 지웠거나, "
        "비슷하게 생긴 다른 문자로 입력함). 배포본에서 되살리세요",
    ),
    (
        "{problem}; the notebook's own regions are graded as not written",
        "{problem}. 그 노트북 안의 영역은 작성하지 않은 것으로 채점했습니다",
    ),
    (
        "the region's code does not stay inside its function (a line is indented less than "
        "the region, or a block is left open at its end)",
        "영역의 코드가 함수 안에 머물지 않습니다(영역보다 덜 들여 쓴 줄이 있거나, 끝에서 "
        "블록이 열린 채로 남았습니다)",
    ),
    (
        "line {number} is indented less than the region",
        "{number}번째 줄이 영역보다 덜 들여 쓰였습니다",
    ),
    ("cannot be compiled: {error}", "컴파일할 수 없습니다: {error}"),
    (
        "makes the file invalid ({error}, line {line})",
        "파일을 올바르지 않게 만듭니다({error}, {line}번째 줄)",
    ),
    (
        "the submission holds no cs231n_lib/*.py file and no notebooks/*.ipynb; make it with "
        "`{command}` in the course folder you worked in",
        "제출물에 cs231n_lib/*.py 파일도 notebooks/*.ipynb도 없습니다. 작업한 과정 폴더에서 "
        "`{command}`(으)로 만드세요",
    ),
    (
        "not graded in this run (it was interrupted?)",
        "이번 실행에서 채점되지 않았습니다(실행이 중단되었나요?)",
    ),
)


@functools.cache
def _compiled() -> tuple[tuple[re.Pattern, str], ...]:
    out = []
    for english, korean in TEMPLATES:
        pattern = ""
        for literal, field, _spec, _conv in string.Formatter().parse(english):
            pattern += re.escape(literal)
            if field is not None:
                pattern += f"(?P<{field}>.+?)"
        out.append((re.compile(pattern, re.DOTALL), korean))
    return tuple(out)


def translate_reason(text: str) -> str:
    """``text`` (a reason or note the grader wrote in English) in Korean, or ``text`` itself
    when no template matches. Quoted fields are kept byte for byte."""
    return _translate(text, [], 0)


def untranslated(text: str) -> list[str]:
    """The parts of ``text`` that :func:`translate_reason` leaves English: the whole text when
    no template matches it, else any nested reason inside it that none matches."""
    left: list[str] = []
    _translate(text, left, 0)
    return left


def _translate(text: str, left: list[str], depth: int) -> str:
    if depth > 6 or not text:
        return text
    for pattern, korean in _compiled():
        match = pattern.fullmatch(text)
        if match is None:
            continue
        fields = {}
        for name, value in match.groupdict().items():
            if name in NESTED:
                value = _translate(value, left, depth + 1)
            elif name in LIBRARY_TEXT:
                value = library_text(value)
            fields[name] = value
        return korean.format(**fields)
    left.append(text)
    return text


def library_text(text: str) -> str:
    """A message the student library wrote in English (a kernel under the grader runs in
    English), in Korean when the library's catalogue has it; else ``text`` as it is."""
    from cs231n_lib import i18n
    from cs231n_lib.checks import STUB_PATTERN, STUB_TEMPLATE

    korean = i18n.translations("ko")
    stub = STUB_PATTERN.match(text)
    if stub is not None:
        return korean.gettext(STUB_TEMPLATE).format(**stub.groupdict())
    return korean.gettext(text) if text else text


def translate_refusal(english: str, message: dict | None) -> str:
    """Why a submission was refused, in Korean: the stored template (``message``) formatted
    with the library catalogue's Korean. The English when there is no template (a result
    stored before refusals kept theirs) or when the template does not give back exactly the
    stored English (then it is not that refusal's)."""
    from cs231n_lib import i18n
    from cs231n_lib.submission_rules import Message

    if not message:
        return english
    try:
        refusal = Message.from_json(message)
    except (KeyError, TypeError, ValueError, AttributeError):
        return english
    if str(refusal) != english:
        return english
    return refusal.shown(i18n.translations("ko").gettext)
