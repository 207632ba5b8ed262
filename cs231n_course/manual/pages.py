"""The TA's HTML pages: every student's answer to one question side by side, and an index.

Student text is rendered by :mod:`.render` (escaped, offline); the pages load nothing
(a ``Content-Security-Policy`` of ``default-src 'none'``).
"""

from __future__ import annotations

import html

from cs231n_course.manual.questions import Question, answer_sha
from cs231n_course.manual.render import render
from cs231n_course.manual.sheets import CHANGED_FLAG, ManualState

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.2em; color: #222; }
header { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.prompt, .model { border: 1px solid #ccc; border-radius: 6px; padding: 0.2em 1em; }
.model { background: #f3f8f0; }
.answers { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
           gap: 0.8em; margin-top: 1em; }
.answer { border: 1px solid #bbb; border-radius: 6px; padding: 0.3em 0.9em; }
.answer h3 { font-size: 1em; margin: 0.4em 0; display: flex; justify-content: space-between; }
.none { color: #888; font-style: italic; }
.flag { background: #fff1c2; border-left: 4px solid #e0a800; padding: 0.2em 0.5em; }
.grade { color: #333; font-size: 0.9em; border-top: 1px dashed #ccc; margin-top: 0.5em; }
code.latex { background: #f4f4f4; }
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"style-src 'unsafe-inline'\"><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>\n{body}\n</body></html>\n"
    )


def question_page(q: Question, state: ManualState) -> str:
    rows = state.sheets.get(q.qid, {})
    cards = []
    for student in sorted(state.answers):
        answer = state.answers[student].get(q.qid)
        row = rows.get(student)
        shown = render(answer) if answer else '<p class="none">(no answer)</p>'
        grade = ""
        if row and row.points is not None:
            grade = (
                f'<div class="grade">points {row.points:g} / {q.points:g}'
                f"{': ' + html.escape(row.comment) if row.comment else ''}</div>"
            )
        flag = f'<p class="flag">{html.escape(row.flag)}</p>' if row and row.flag else ""
        cards.append(
            f'<section class="answer" id="{html.escape(student)}"><h3>'
            f"<span>{html.escape(student)}</span><small>{answer_sha(answer)}</small></h3>"
            f"{flag}{shown}{grade}</section>"
        )
    body = (
        f"<h1>{html.escape(q.qid)} ({q.points:g} points)</h1>"
        f"<p>{len(cards)} answers. Enter points and comments in "
        f"<code>{html.escape(q.qid)}.csv</code>, then run <code>course grade</code> again.</p>"
        f'<header><div class="prompt"><h2>Question</h2>{render(q.prompt)}</div>'
        f'<div class="model"><h2>Model answer</h2>{render(q.model)}</div></header>'
        f'<div class="answers">{"".join(cards)}</div>'
    )
    return _page(f"{q.qid}: answers", body)


def index_page(state: ManualState) -> str:
    items = []
    for q in state.questions:
        rows = state.sheets.get(q.qid, {})
        graded = sum(1 for s in state.answers if (r := rows.get(s)) and r.points is not None)
        flagged = sum(1 for r in rows.values() if r.flag == CHANGED_FLAG)
        items.append(
            f'<li><a href="{html.escape(q.qid)}.html">{html.escape(q.qid)}</a> '
            f"({q.points:g} points): {graded} / {len(state.answers)} graded"
            f"{f', {flagged} changed after grading' if flagged else ''}</li>"
        )
    return _page("Manual grading", f"<h1>Manual grading</h1><ul>{''.join(items)}</ul>")
