"""Drive one notebook in JupyterLab through Playwright and read what the browser shows.

What a student sees is read from the DOM (prompts, rendered outputs, images, widget controls).
JupyterLab renders an error and a stderr stream (a warning, a progress bar) the same way
(``.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]``, no class tells them
apart), so the notebook model (``window.jupyterapp``, exposed by the server flag
``--LabApp.expose_app_in_browser``) says which output is which; cell *i* of the model is
cell *i* of the DOM.
"""

from __future__ import annotations

import json
import re
import struct
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .lab import LabServer

OPEN_TIMEOUT = 90.0  # notebook open + kernel started
WIDGET_TIMEOUT = 60.0  # widgets rendered / a widget's output updated after a change
# The kernel counts as settled when every request the page sent has had its idle status and
# no kernel message has passed for this long: a widget sends its next update only after the
# kernel went idle for the previous one (ipywidgets throttles), so idle alone is not the end.
QUIET = 0.3
RENDER_GRACE = 3.0  # s for the page to show what the settled kernel sent
MAX_VIEWPORT_HEIGHT = 16000  # px; taller notebooks are cut in the full-page screenshot
VIEWPORT = {"width": 1280, "height": 900}

STDERR_MIME = "application/vnd.jupyter.stderr"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

# Widget models (as stored in a notebook's widget state) and the CSS class of their view.
CONTROL_CLASS = {
    "IntSliderModel": "widget-slider",
    "FloatSliderModel": "widget-slider",
    "FloatLogSliderModel": "widget-slider",
    "IntRangeSliderModel": "widget-slider",
    "FloatRangeSliderModel": "widget-slider",
    "SelectionSliderModel": "widget-slider",
    "SelectionRangeSliderModel": "widget-slider",
    "DropdownModel": "widget-dropdown",
    "ToggleButtonsModel": "widget-toggle-buttons",
    "RadioButtonsModel": "widget-radio",
    "CheckboxModel": "widget-checkbox",
    "ButtonModel": "widget-button",
    "OutputModel": "widget-output",
    "ImageModel": "widget-image",
}
COUNTED_CLASSES = sorted(set(CONTROL_CLASS.values()))

# ---------------------------------------------------------------------------------------------
# JavaScript run in the page. Every function takes the notebook's path and finds its panel.

_PANEL = """
const panelFor = (path) => Array.from(window.jupyterapp?.shell?.widgets('main') ?? [])
    .find((w) => w.context && w.context.path === path);
"""

JS_KERNEL_READY = (
    "(path) => {"
    + _PANEL
    + """
    const dialog = document.querySelector('.jp-Dialog');
    if (dialog) return 'dialog: ' + dialog.innerText.replace(/\\s+/g, ' ').slice(0, 300);
    const panel = panelFor(path);
    const kernel = panel?.sessionContext?.session?.kernel;
    return Boolean(panel && panel.context.isReady && kernel
        && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
}"""
)

JS_RUN_STATE = (
    "(path) => {"
    + _PANEL
    + """
    const panel = panelFor(path);
    const kernel = panel?.sessionContext?.session?.kernel;
    const cells = panel ? panel.content.widgets.map((cell, i) => ({
        index: i,
        id: cell.model.id,
        type: cell.model.type,
        first_line: cell.model.sharedModel.getSource().split('\\n')[0].slice(0, 80),
        prompt: cell.model.type === 'code'
            ? (cell.node.querySelector('.jp-InputPrompt')?.textContent ?? '').trim() : null,
    })) : [];
    const code = cells.filter((c) => c.type === 'code');
    const dialog = document.querySelector('.jp-Dialog');
    return {
        kernel: kernel ? kernel.status : 'no kernel',
        running: code.filter((c) => c.prompt.includes('*')).map((c) => c.index),
        executed: code.filter((c) => /\\d/.test(c.prompt)).length,
        cells,
        dialog: dialog ? dialog.innerText.replace(/\\s+/g, ' ').slice(0, 300) : null,
    };
}"""
)

JS_RUN_DONE = (
    "(path) => {"
    + _PANEL
    + """
    const panel = panelFor(path);
    const kernel = panel?.sessionContext?.session?.kernel;
    if (!panel || !kernel || kernel.status !== 'idle') return false;
    const prompts = panel.content.widgets.filter((c) => c.model.type === 'code')
        .map((c) => (c.node.querySelector('.jp-InputPrompt')?.textContent ?? ''));
    return !prompts.some((p) => p.includes('*')) && prompts.some((p) => /\\d/.test(p));
}"""
)

JS_OUTPUTS_SETTLED = (
    "(path) => {"
    + _PANEL
    + """
    const panel = panelFor(path);
    if (!panel) return false;
    const text = panel.content.node.innerText;
    const images = Array.from(panel.content.node.querySelectorAll('.jp-OutputArea img'));
    return !text.includes('Loading widget...') && images.every((img) => img.complete);
}"""
)

JS_COLLECT = (
    "([path, classes]) => {"
    + _PANEL
    + """
    const panel = panelFor(path);
    const count = (node) => Object.fromEntries(
        classes.map((cls) => [cls, node.querySelectorAll('.' + cls).length]));
    return panel.content.widgets.map((cell, i) => {
        const m = cell.model;
        const info = {
            index: i, id: m.id, type: m.type,
            first_line: m.sharedModel.getSource().split('\\n')[0].slice(0, 80),
        };
        if (m.type !== 'code') return info;
        info.prompt = (cell.node.querySelector('.jp-InputPrompt')?.textContent ?? '').trim();
        info.outputs = [];
        for (let j = 0; j < m.outputs.length; j++) {
            const o = m.outputs.get(j).toJSON();
            info.outputs.push({
                output_type: o.output_type, name: o.name ?? null,
                ename: o.ename ?? null, evalue: o.evalue ?? null,
                mimes: Object.keys(o.data ?? {}),
            });
        }
        const children = Array.from(cell.outputArea.node.children)
            .filter((c) => c.classList.contains('jp-OutputArea-child'));
        info.dom = children.map((child) => {
            const out = child.querySelector(':scope > .jp-OutputArea-output');
            if (!out) return {mime: null, text: '', images: [], widget: false, controls: {}};
            return {
                mime: out.dataset.mimeType ?? null,
                text: out.innerText.slice(0, 4000),
                images: Array.from(out.querySelectorAll('img')).map((img) => ({
                    png: img.src.startsWith('data:image/png'),
                    decoded: img.complete && img.naturalWidth > 0,
                    width: img.naturalWidth, height: img.naturalHeight,
                })),
                widget: out.querySelector('.jupyter-widgets') !== null,
                controls: count(out),
                nested_stderr: Array.from(out.querySelectorAll(
                    '.widget-output .jp-OutputArea-output[data-mime-type="'
                    + 'application/vnd.jupyter.stderr"]')).map((e) => e.innerText.slice(0, 4000)),
            };
        });
        return info;
    });
}"""
)

# The part of a widget view that shows results (not its controls): output widgets, images,
# HTML and label widgets. A change of control must change this.
JS_WIDGET_RESULT = """(node) => {
    const parts = [];
    node.querySelectorAll('.widget-output').forEach((e) => parts.push(e.innerHTML));
    node.querySelectorAll('img').forEach((e) => parts.push(e.src));
    node.querySelectorAll('.widget-html-content, .widget-label-basic')
        .forEach((e) => parts.push(e.innerHTML));
    return parts.join('\\n');
}"""

JS_SCROLL_TO_PART = (
    "([path, part]) => {"
    + _PANEL
    + """
    const nb = panelFor(path).content.node;
    const scroller = nb.querySelector('.jp-WindowedPanel-outer') ?? nb;
    const wanted = part * scroller.clientHeight;
    scroller.scrollTop = wanted;
    // The last part is scrolled less than asked (the end is reached): ``repeated`` px at its
    // top were in the previous part already.
    return {
        more: scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 50,
        repeated: wanted - scroller.scrollTop,
        top: Math.max(0, scroller.getBoundingClientRect().top),
    };
}"""
)

JS_FIT_HEIGHT = (
    "(path) => {"
    + _PANEL
    + """
    const panel = panelFor(path);
    const nb = panel.content.node;
    const scroller = nb.querySelector('.jp-WindowedPanel-outer') ?? nb;
    const box = scroller.getBoundingClientRect();
    return Math.ceil(scroller.scrollHeight + box.top + (window.innerHeight - box.bottom));
}"""
)


# ---------------------------------------------------------------------------------------------
# Kernel messages seen on the page's websockets: errors raised outside any cell's output
# (a widget callback) show up here even when no cell displays them.


def decode_kernel_frame(payload: str | bytes) -> dict | None:
    """A kernel websocket frame as a dict with header, parent_header and content."""
    if isinstance(payload, str):
        msg = json.loads(payload)
        return msg if isinstance(msg, dict) and "header" in msg and "content" in msg else None
    # v1.kernel.websocket.jupyter.org: n, then n offsets (uint64 LE), then the parts
    # channel, header, parent_header, metadata, content, buffers...
    count = struct.unpack_from("<Q", payload, 0)[0]
    offsets = struct.unpack_from(f"<{count}Q", payload, 8)
    parts = [payload[offsets[i] : offsets[i + 1]] for i in range(count - 1)]
    return {
        "channel": parts[0].decode(),
        "header": json.loads(parts[1]),
        "parent_header": json.loads(parts[2]),
        "content": json.loads(parts[4]),
    }


@dataclass
class KernelTraffic:
    """Kernel messages on the page's websockets.

    ``errors``: every error the kernel reported, also those no cell displays (raised in a
    widget callback). ``outstanding``: shell requests (execute, comm messages from widgets)
    whose kernel has not yet gone idle for them.
    """

    errors: list[dict] = field(default_factory=list)
    outstanding: set[str] = field(default_factory=set)
    last_frame: float = field(default_factory=time.monotonic)

    def attach(self, page: Page) -> None:
        page.on("websocket", self._on_websocket)

    def detach(self, page: Page) -> None:
        page.remove_listener("websocket", self._on_websocket)

    def _on_websocket(self, ws) -> None:
        if "/api/kernels/" in ws.url:
            ws.on("framesent", self._on_sent)
            ws.on("framereceived", self._on_received)

    def _on_sent(self, payload) -> None:
        self.last_frame = time.monotonic()
        msg = _decode_or_none(payload)
        if msg and msg.get("channel") == "shell":
            self.outstanding.add(msg["header"].get("msg_id"))

    def _on_received(self, payload) -> None:
        self.last_frame = time.monotonic()
        msg = _decode_or_none(payload)
        if not msg:
            return
        kind = msg["header"].get("msg_type")
        if kind == "status" and msg["content"].get("execution_state") == "idle":
            self.outstanding.discard(msg.get("parent_header", {}).get("msg_id"))
        elif kind == "error":
            content = msg["content"]
            self.errors.append(
                {
                    "parent": msg.get("parent_header", {}).get("msg_type"),
                    "ename": content.get("ename"),
                    "evalue": content.get("evalue"),
                    "traceback": strip_ansi("\n".join(content.get("traceback", []))),
                }
            )

    def touch(self) -> None:
        """Count a page action as traffic: its websocket frames may reach us a bit later."""
        self.last_frame = time.monotonic()

    def settled(self, quiet: float) -> bool:
        return not self.outstanding and time.monotonic() - self.last_frame >= quiet


def _decode_or_none(payload) -> dict | None:
    try:
        return decode_kernel_frame(payload)
    except (ValueError, KeyError, IndexError, struct.error, UnicodeDecodeError):
        return None


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


# ---------------------------------------------------------------------------------------------
# Expectations from the stored (source) notebook.


@dataclass
class StoredCell:
    has_png: bool
    widget_controls: list[dict[str, int]]  # per widget view: control class -> count


def stored_expectations(path: Path) -> list[StoredCell]:
    """Per cell: did the stored run show a figure, and which controls did each widget have."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    state = nb.get("metadata", {}).get("widgets", {})
    state = state.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    result = []
    for cell in nb["cells"]:
        outputs = cell.get("outputs", []) if cell["cell_type"] == "code" else []
        has_png = any("image/png" in o.get("data", {}) for o in outputs)
        views = []
        for o in outputs:
            view = o.get("data", {}).get(WIDGET_MIME)
            if view:
                views.append(_controls_in(view.get("model_id", ""), state))
        result.append(StoredCell(has_png, views))
    return result


def _controls_in(model_id: str, state: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    seen: set[str] = set()
    todo = [model_id]
    while todo:
        mid = todo.pop()
        if mid in seen or mid not in state:
            continue
        seen.add(mid)
        model = state[mid]
        cls = CONTROL_CLASS.get(model.get("model_name", ""))
        if cls:
            counts[cls] = counts.get(cls, 0) + 1
        todo += re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(model.get("state", {})))
    return counts


# ---------------------------------------------------------------------------------------------


class NotebookRunFailed(AssertionError):
    pass


@dataclass
class LabWindow:
    """A browser page with JupyterLab loaded once; each test opens and closes its notebook
    in it (loading JupyterLab costs seconds of CPU, opening a notebook does not)."""

    page: Page
    lab: LabServer
    console: list[str] = field(default_factory=list)

    def load(self) -> None:
        self.page.set_viewport_size(VIEWPORT)
        url = f"{self.lab.url}/lab/workspaces/w{uuid.uuid4().hex[:12]}?token={self.lab.token}"
        self.page.goto(url, wait_until="domcontentloaded")
        try:
            self.page.wait_for_function(
                "() => Boolean(window.jupyterapp && window.jupyterapp.shell)",
                timeout=OPEN_TIMEOUT * 1000,
                polling=100,
            )
        except PlaywrightTimeout:
            raise NotebookRunFailed(
                f"JupyterLab did not load within {OPEN_TIMEOUT:.0f} s; server log:\n"
                + self.lab.log_tail()
            ) from None
        # Wait for the restored layout, then hide the file browser: more room for notebooks.
        self.page.evaluate(
            "() => window.jupyterapp.restored.then(() => { if (!window.jupyterapp.shell"
            ".leftCollapsed) return window.jupyterapp.commands"
            ".execute('application:toggle-left-area').then(() => true); })"
        )

    def notebook(self, path: str, name: str) -> NotebookPage:
        return NotebookPage(self.page, self.lab, path, name)


@dataclass
class NotebookPage:
    """One notebook open in JupyterLab in one browser page."""

    page: Page
    lab: LabServer
    path: str  # relative to the server root
    name: str  # for messages and file names
    kernel: KernelTraffic = field(default_factory=KernelTraffic)
    log_start: int = 0

    def open(self) -> None:
        """Open the notebook in the already loaded JupyterLab (File → Open, as a command)
        and wait until its kernel has started and is idle."""
        self.kernel.attach(self.page)
        self.log_start = self.lab.log_position()
        self.page.set_viewport_size(VIEWPORT)
        self.page.evaluate(
            "(path) => window.jupyterapp.commands"
            ".execute('docmanager:open', {path, factory: 'Notebook'}).then(() => true)",
            self.path,
        )
        try:
            ready = self.page.wait_for_function(
                JS_KERNEL_READY, arg=self.path, timeout=OPEN_TIMEOUT * 1000, polling=100
            ).json_value()
        except PlaywrightTimeout:
            raise NotebookRunFailed(
                f"{self.name}: the notebook did not open with an idle kernel within "
                f"{OPEN_TIMEOUT:.0f} s; server log:\n{self.lab.log_tail()}"
            ) from None
        if isinstance(ready, str):  # a dialog (kernel choice, error) blocks the notebook
            raise NotebookRunFailed(f"{self.name}: JupyterLab shows a {ready}")

    def close(self) -> None:
        """Close the notebook's tab without a save dialog, and stop its kernel."""
        self.kernel.detach(self.page)
        self.page.evaluate("(path) => {" + _PANEL + "panelFor(path)?.dispose(); }", self.path)
        self.lab.shutdown_kernels()

    def run_all(self, timeout: float) -> float:
        """Run → Run All Cells; wait until no cell is queued or running and the kernel is
        idle. Returns the seconds it took."""
        start = time.monotonic()
        # The labels in English and in the Korean language pack (test_browser_korean.py).
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^(Run|실행)$")).click()
        self.page.locator(
            ".lm-Menu-itemLabel", has_text=re.compile(r"^(Run All Cells|모든 셀 실행)$")
        ).click()
        try:
            self.page.wait_for_function(
                JS_RUN_DONE, arg=self.path, timeout=timeout * 1000, polling=250
            )
        except PlaywrightTimeout:
            raise NotebookRunFailed(self._still_running_message(timeout)) from None
        if not self.wait_until_settled(WIDGET_TIMEOUT):
            raise NotebookRunFailed(
                f"{self.name}: every cell finished but the kernel was still handling "
                f"{len(self.kernel.outstanding)} request(s) {WIDGET_TIMEOUT:.0f} s later"
            )
        try:
            self.page.wait_for_function(
                JS_OUTPUTS_SETTLED, arg=self.path, timeout=WIDGET_TIMEOUT * 1000, polling=250
            )
        except PlaywrightTimeout:
            raise NotebookRunFailed(
                f"{self.name}: a widget still shows 'Loading widget...' (or an image has not "
                f"loaded) {WIDGET_TIMEOUT:.0f} s after the last cell finished"
            ) from None
        return time.monotonic() - start

    def wait_until_settled(self, timeout: float) -> bool:
        """Wait until the kernel has answered every request of the page (see QUIET)."""
        deadline = time.monotonic() + timeout
        while not self.kernel.settled(QUIET):
            if time.monotonic() > deadline:
                return False
            self.page.wait_for_timeout(50)  # lets Playwright deliver websocket events
        return True

    def _still_running_message(self, timeout: float) -> str:
        state = self.page.evaluate(JS_RUN_STATE, self.path)
        if state["dialog"]:
            return f"{self.name}: Run All blocked by a dialog: {state['dialog']}"
        if state["running"]:
            cell = state["cells"][state["running"][0]]
            return (
                f"{self.name}: cell {cell['index']} (id {cell['id']!r}: {cell['first_line']!r})"
                f" was still running after {timeout:.0f} s; {state['executed']} code cells had"
                f" finished; kernel {state['kernel']}"
            )
        return (
            f"{self.name}: Run All did not finish within {timeout:.0f} s: no cell is running "
            f"but the kernel is {state['kernel']!r} and {state['executed']} cells ran"
        )

    def collect(self) -> list[dict]:
        return self.page.evaluate(JS_COLLECT, [self.path, COUNTED_CLASSES])

    def new_log(self) -> str:
        return self.lab.log_since(self.log_start)

    # -- screenshots ---------------------------------------------------------------------------
    def fit_viewport_to_notebook(self) -> None:
        """Make the window as tall as the notebook (up to MAX_VIEWPORT_HEIGHT): the notebook
        is then on screen at once and no control needs scrolling into view."""
        for _ in range(5):  # the layout settles after a resize; re-measure
            needed = min(self.page.evaluate(JS_FIT_HEIGHT, self.path), MAX_VIEWPORT_HEIGHT)
            if abs(needed - self.page.viewport_size["height"]) <= 2:
                return
            self.page.set_viewport_size({"width": VIEWPORT["width"], "height": needed})

    def screenshot_notebook(self, path: Path) -> list[Path]:
        """Screenshot the whole notebook from the top: ``path``, then ``<stem>-part2.png``
        and so on when it is taller than the window."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fit_viewport_to_notebook()
        for old in path.parent.glob(f"{path.stem}-part*.png"):
            old.unlink()
        written = []
        for part in range(1, 100):
            where = self.page.evaluate(JS_SCROLL_TO_PART, [self.path, part - 1])
            target = path if part == 1 else path.with_name(f"{path.stem}-part{part}.png")
            size = self.page.viewport_size
            clip = None
            if where["repeated"] > 0:  # keep only what the previous part did not show
                top = where["top"] + where["repeated"]
                clip = {"x": 0, "y": top, "width": size["width"], "height": size["height"] - top}
            self.page.screenshot(path=str(target), clip=clip)
            written.append(target)
            if not where["more"]:
                break
        self.page.evaluate(JS_SCROLL_TO_PART, [self.path, 0])
        return written

    def cell_screenshot(self, index: int, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.cell_locator(index).screenshot(path=str(path))

    def cell_locator(self, index: int):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-cell").nth(
            index
        )

    # -- widgets ---------------------------------------------------------------------------
    def widget_views(self, index: int):
        """Top-level widget views in the outputs of cell ``index``."""
        return self.cell_locator(index).locator(
            ".jp-Cell-outputArea > .jp-OutputArea-child"
            " > .jp-OutputArea-output:has(.jupyter-widgets)"
        )

    def use_control(self, control) -> str:
        """Move a slider one step, pick the next dropdown item, choose another of a row of
        toggle buttons or click a button; say what was done ("" when there was nothing to
        do)."""
        classes = control.get_attribute("class") or ""
        label = self._label(control)
        if "widget-button" in classes:
            text = control.inner_text().strip()
            control.click()
            return f"button {text or label!r} clicked"
        if "widget-toggle-buttons" in classes:
            other = control.locator(".widget-toggle-button:not(.mod-active)").first
            if not other.count():
                return ""
            text = other.inner_text().strip()
            other.click()
            return f"toggle buttons {label!r}: chose {text!r}"
        if "widget-dropdown" in classes:
            select = control.locator("select")
            options = select.evaluate("(s) => Array.from(s.options).map((o) => o.text)")
            current = select.evaluate("(s) => s.selectedIndex")
            if len(options) < 2:
                return ""
            new = (current + 1) % len(options)
            select.select_option(index=new)
            return f"dropdown {label!r}: {options[current]!r} -> {options[new]!r}"
        handle = control.locator(".noUi-handle").first
        value, maximum = (handle.get_attribute(a) for a in ("aria-valuenow", "aria-valuemax"))
        handle.focus()
        handle.press("ArrowLeft" if value == maximum else "ArrowRight")
        return f"slider {label!r}: {value} -> {handle.get_attribute('aria-valuenow')}"

    @staticmethod
    def _label(control) -> str:
        label = control.locator(".widget-label")
        return label.first.inner_text().strip() if label.count() else ""

    def widget_result(self, view) -> str:
        return view.evaluate(JS_WIDGET_RESULT)

    def widget_result_after_use(self, view, before: str) -> str | None:
        """After a control was used: wait until the kernel has handled every message the
        widget sent, then give the view's results once they differ from ``before`` (None if
        they stay the same). Raises if the kernel does not settle."""
        self.kernel.touch()
        if not self.wait_until_settled(WIDGET_TIMEOUT):
            raise NotebookRunFailed(
                f"{self.name}: the kernel was still handling the widget's messages "
                f"{WIDGET_TIMEOUT:.0f} s after it was used"
            )
        try:
            self.page.wait_for_function(
                f"([node, before]) => {{ const now = ({JS_WIDGET_RESULT})(node);"
                " return now !== before"
                " && Array.from(node.querySelectorAll('img')).every((i) => i.complete); }",
                arg=[view.element_handle(), before],
                timeout=RENDER_GRACE * 1000,
                polling=100,
            )
        except PlaywrightTimeout:
            return None
        return self.widget_result(view)

    def show_trouble(self) -> None:
        """Scroll the first running cell, else the first cell showing an error, into view."""
        self.page.evaluate(
            "(path) => {"
            + _PANEL
            + """
            const cells = panelFor(path)?.content.widgets ?? [];
            const running = cells.find((c) => (c.node.querySelector('.jp-InputPrompt')
                ?.textContent ?? '').includes('*'));
            const failing = cells.find((c) => c.node.querySelector(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'));
            (running ?? failing)?.node.scrollIntoView({block: 'center'});
        }""",
            self.path,
        )

    def error_texts(self) -> str:
        """Every stderr-looking output on the page, with its cell (for failure reports)."""
        try:
            cells = self.collect()
        except Exception as exc:  # the page may be gone
            return f"(could not read the page: {exc})"
        lines = []
        for cell in cells:
            for out in cell.get("dom", []):
                if out["mime"] == STDERR_MIME or out["nested_stderr"]:
                    text = "\n".join([out["text"], *out["nested_stderr"]]).strip()
                    lines.append(f"--- cell {cell['index']} ({cell['id']}) ---\n{text}")
        return "\n".join(lines) or "(no error or stderr output on the page)"
