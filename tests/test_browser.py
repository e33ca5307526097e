"""The views a person uses, in a real browser: Debian's Chromium driven by Playwright for Python.

1. a static deck from ``make slides`` (offline reveal.js): layout, slide count, typeset math, navigation; and
   a presentation clicker's keys (→, PageDown) step through every slide, subslide and fragment of every deck;
2. JupyterLab, served by ``make lab`` on a copy of the repository: run ``01_dense_blocks.ipynb`` in a fresh
   kernel, every figure shows as an image, move the growth-rate slider, read the new output shape;
3. RISE (the ``/rise/notebooks/<notebook>`` slideshow): → and PageDown step through every deck in order; on the
   explorer slide of 01, 02 and 03, run the cells, find the slider rendered as a slider, drag it, press ArrowUp
   on it, read the new output; the presenter's path of the README (Run All in Lab, then Alt+R) gives live
   sliders; and no error in the browser's console that is not listed, with its cause, in ``KNOWN_RISE_ERRORS``;
4. the live plot of a training run draws and changes while it trains, in JupyterLab and in RISE.

Screenshots go to ``tests/screenshots/``; ``rise_slider_moved.png`` (a dragged slider inside the slideshow)
is kept in git, the others are ignored. Without Chromium or Playwright the tests skip
with the reason; with ``CI=true`` that is a failure instead, since CI must run them.
Never ``playwright install``: it would download a browser of its own; ``make test`` installs Debian's.
"""
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from d2l_extras import slides
from d2l_extras.navigation import NOTEBOOK_CSS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / 'notebooks'
SCREENSHOTS = ROOT / 'tests' / 'screenshots'
CHROMIUM = Path('/usr/bin/chromium')
# Headless Chromium on a machine without network: no background connections, no sandbox as root.
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run']
LESSON = '01_dense_blocks.ipynb'
LAB_SETTINGS = Path(sys.prefix) / 'share' / 'jupyter' / 'lab' / 'settings' / 'overrides.json'
DECKS = sorted(NOTEBOOKS.glob('[0-9][0-9]_*.ipynb'))
FIGURE_TEXT = re.compile(r'<Figure size \d+x\d+ with \d+ Axes>')
# Errors a RISE slideshow logs in the browser's console whose cause is known; any other error fails a test.
KNOWN_RISE_ERRORS = {
    r'^RangeError: Maximum call stack size exceeded$':
        "jupyterlab-rise 0.43.1 (its latest release) loads @jupyter/web-components twice: its app's package.json "
        "asks for ~0.13.3 (in 'resolutions', which its webpack build turns into the shared modules' required "
        "versions) while it bundles 0.16.7, so the page loads a second copy, and the two copies' design tokens "
        "notify each other until the stack overflows. It happens with any notebook and with no Lab extension "
        "loaded; JupyterLab itself logs none. Slides, widgets and keys work.",
}


def unavailable(reason: str):
    """Skip with a one-line reason, or fail under CI, where the browser tests must run."""
    if os.environ.get('CI') == 'true':
        pytest.fail(f'{reason} (CI=true: the browser tests must run, not skip)')
    pytest.skip(reason)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000, f'{name} looks empty'
    return path


@pytest.fixture(scope='module')
def browser():
    if not CHROMIUM.exists():
        unavailable(f'{CHROMIUM} not found: `make test` installs Debian\'s chromium when run as root')
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable('playwright is not installed: `make setup` installs the `test` extra')
    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Exception as e:  # noqa: BLE001 - a Chromium that cannot start, e.g. missing libraries
            unavailable(f'{CHROMIUM} does not start: {str(e).splitlines()[0]}')
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page; ``page.js_errors`` collects uncaught errors, ``page.console`` (type, text, script URL)."""
    context = browser.new_context(viewport={'width': 1280, 'height': 800})
    page = context.new_page()
    errors, console = [], []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('console', lambda m: console.append((m.type, m.text, (m.location or {}).get('url', ''))))
    page.js_errors, page.console = errors, console
    yield page
    context.close()


# ---- 1. the static deck ---------------------------------------------------------------------------
def deck_notebooks():
    return [NOTEBOOKS / n for n in ('00_index.ipynb', LESSON) if (NOTEBOOKS / n).exists()]


@pytest.mark.parametrize('notebook', deck_notebooks(), ids=lambda p: p.stem)
def test_static_deck_renders_offline(page, notebook, tmp_path):
    js = ROOT / 'build' / 'js'
    if not (js / '.installed').exists():
        unavailable('build/js is missing: `make js` unpacks reveal.js, MathJax & co. from the npm registry')
    deck = slides.export_deck(notebook, tmp_path / 'slides', js)
    nb = json.loads(notebook.read_text())
    num_slides, num_all = slides.deck_sections(nb)
    titles = slides.slide_titles(nb)
    remote = []  # offline: every request for a web address fails, and only the Binder badge may ask
    page.on('request', lambda r: remote.append(r.url) if not r.url.startswith(('file:', 'data:')) else None)
    page.route(re.compile(r'^https?://'), lambda route: route.abort())
    page.goto(deck.as_uri())
    page.wait_for_selector('.reveal.ready', timeout=30_000)  # reveal.js (loaded by require.js) laid it out

    layout = page.evaluate('''() => {
        const top = [...document.querySelectorAll('.reveal .slides > section')];
        return {slides: top.length,
                total: top.reduce((n, s) => n + Math.max(1, s.querySelectorAll(':scope > section').length), 0),
                present: top.findIndex(s => s.classList.contains('present')),
                controls: getComputedStyle(document.querySelector('.reveal .controls')).display,
                progress: getComputedStyle(document.querySelector('.reveal .progress')).display,
                width: document.querySelector('.reveal .slides').getBoundingClientRect().width}; }''')
    assert layout['controls'] != 'none' and layout['progress'] != 'none' and layout['width'] > 500, layout
    assert (layout['slides'], layout['total'], layout['present']) == (num_slides, num_all, 0)

    if any('$' in ''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown'):
        page.wait_for_function('''() => { const n = document.querySelectorAll('script[type^="math/tex"]').length;
            return n > 0 && document.querySelectorAll('.MathJax_CHTML').length === n; }''', timeout=30_000)
        leftover = page.evaluate(r'''() => {  // TeX left as text in rendered markdown = math not typeset
            const walk = document.createTreeWalker(document.querySelector('.reveal .slides'), NodeFilter.SHOW_TEXT);
            const raw = [];
            while (walk.nextNode()) {
                const node = walk.currentNode, parent = node.parentElement;
                if (parent.closest('script, code, pre, .MathJax_CHTML, .jp-OutputArea')) continue;
                if (/\\(mathbf|frac|times|ldots)|\$\$/.test(node.textContent)) raw.push(node.textContent.trim());
            }
            return raw; }''')
        assert leftover == []

    page.locator('.reveal').click(position={'x': 5, 'y': 5})
    first = next(i for i, step in enumerate(deck_steps(notebook)) if step[0] == 1)
    for _ in range(first):  # → steps through the first slide's subslides and fragments, then to slide 2
        page.keyboard.press('ArrowRight')
    page.wait_for_selector('.reveal .slides > section:nth-child(2).present', timeout=5_000)
    current = page.locator('.reveal .slides > section:nth-child(2)').inner_text()
    second_title = titles[1] if slides.slide_type(nb['cells'][0]) == 'slide' else titles[0]
    assert second_title in current, f'slide 2 shows {current[:200]!r}, expected the title {second_title!r}'
    page.wait_for_timeout(300)
    screenshot(page, f'static_deck_{notebook.stem}_slide2.png')
    assert page.js_errors == []
    if nb['metadata'].get('widgets'):  # the sliders' saved state, drawn by the widget renderer (html-manager)
        page.wait_for_selector('.reveal .widget-hslider .noUi-handle', state='attached', timeout=30_000)
    assert remote == [], f'the deck asks the network for {remote}'


# Where the deck is: [h, v, fragments shown] of the (sub)slide on screen (reveal.js's indices, RISE's and nbconvert's).
STEP = '''() => { const top = [...document.querySelectorAll('.reveal .slides > section')];
    const h = top.findIndex(s => s.classList.contains('present'));
    if (h < 0) return null;
    const subs = [...top[h].querySelectorAll(':scope > section')];
    const v = Math.max(0, subs.findIndex(s => s.classList.contains('present')));
    return [h, v, (subs.length ? subs[v] : top[h]).querySelectorAll('.fragment.visible').length]; }'''


def deck_steps(notebook: Path) -> list[list[int]]:
    """Every step of the deck in order, as a clicker should show them: each (sub)slide, then each of its fragments."""
    outline = slides.deck_outline(json.loads(notebook.read_text(encoding='utf-8')))
    return [[entry['h'], entry['v'], f] for entry in outline for f in range(entry['fragments'] + 1)]


def press_through(page, key: str, steps: int) -> list[list[int]]:
    """Press ``key`` until the deck stops moving (at most ``steps`` + 2 times); every step shown, from the first."""
    seen = [page.evaluate(STEP)]
    for _ in range(steps + 2):
        page.keyboard.press(key)
        page.wait_for_timeout(200)
        step = page.evaluate(STEP)
        if step == seen[-1]:
            break
        seen.append(step)
    return seen


def back_to_the_start(page, steps: int) -> None:
    """Go back to the deck's first step with PageUp (RISE's Home goes to the first slide's last subslide)."""
    seen = press_through(page, 'PageUp', steps)
    assert seen[-1] == [0, 0, 0], f'PageUp stopped at {seen[-1]}, not at the first step'


def first_difference(seen: list, expected: list) -> str:
    """Where a walk left the expected order, in words."""
    i = next((i for i, (a, b) in enumerate(zip(seen, expected)) if a != b), min(len(seen), len(expected)))
    return (f'{len(seen)} of {len(expected)} steps, in order up to step {i}; then '
            f'{seen[i] if i < len(seen) else "the end"} instead of {expected[i] if i < len(expected) else "the end"} '
            f'(steps are [slide, subslide, fragments shown], from 0)')


@pytest.mark.parametrize('notebook', DECKS, ids=lambda p: p.stem)
def test_a_clicker_walks_every_step_of_the_static_deck(page, notebook, tmp_path):
    """→ and PageDown (what presentation clickers send) show every slide, subslide and fragment in order."""
    js = ROOT / 'build' / 'js'
    if not (js / '.installed').exists():
        unavailable('build/js is missing: `make js` unpacks reveal.js, MathJax & co. from the npm registry')
    deck = slides.export_deck(notebook, tmp_path / 'slides', js)
    expected = deck_steps(notebook)
    page.route(re.compile(r'^https?://'), lambda route: route.abort())
    for key in ('ArrowRight', 'PageDown'):
        page.goto('about:blank')
        page.goto(deck.as_uri())
        page.wait_for_selector('.reveal.ready', timeout=30_000)
        page.locator('.reveal').click(position={'x': 5, 'y': 5})
        seen = press_through(page, key, len(expected))
        assert seen == expected, f'{notebook.name}, static deck, {key}: {first_difference(seen, expected)}'
    assert page.js_errors == []


# ---- a JupyterLab server for 2. and 3. ------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Lab:
    """A running ``make lab``: its address, token and folder, and the addresses of a notebook in Lab and in RISE."""

    def __init__(self, base: str, token: str, home: Path, log: Path):
        self.base, self.token, self.home, self.log = base, token, home, log

    def __iter__(self):  # base, token = lab
        return iter((self.base, self.token))

    def lab_url(self, name: str) -> str:
        return f'{self.base}/lab/tree/notebooks/{name}?reset&token={self.token}'  # reset: a fresh workspace

    def rise_url(self, name: str) -> str:
        return f'{self.base}/rise/notebooks/{name}?token={self.token}'


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    """``make lab`` (the README's command) on 127.0.0.1 with a random token, serving a copy of the repository's
    notebooks (``LAB_ROOT``), as a presenter's Lab serves the repository.

    Yields a :class:`Lab`; the server and its kernels are stopped at the end. The copy (with ``benchmarks/``
    beside it, which 05 reads) keeps the repository's notebooks untouched by the runs and saves of the tests.
    ``expose_app_in_browser`` lets the tests run Lab's commands and read its model (``window.jupyterapp``).
    """
    home = tmp_path_factory.mktemp('lab')
    shutil.copytree(NOTEBOOKS, home / 'notebooks', ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    # Notebook 05 reads the measurements cached in ../benchmarks/*.json.
    shutil.copytree(ROOT / 'benchmarks', home / 'benchmarks', ignore=shutil.ignore_patterns('out', '__pycache__'))
    port, token = free_port(), secrets.token_hex(16)
    args = ['--no-browser', f'--IdentityProvider.token={token}', '--LabApp.expose_app_in_browser=True',
            f'--LabApp.user_settings_dir={home / "settings"}', f'--LabApp.workspaces_dir={home / "workspaces"}']
    cmd = ['make', '-s', '-C', str(ROOT), 'lab', f'PORT={port}', f'LAB_ROOT={home}', f'LAB_ARGS={" ".join(args)}']
    env = {**os.environ, 'JUPYTER_RUNTIME_DIR': str(home / 'runtime')}
    log_path = home / 'lab.log'
    log = open(log_path, 'w+')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None, f'make lab exited: {log_path.read_text()[-2000:]}'
            try:
                with urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.time() < deadline, f'JupyterLab not up in 120 s: {log_path.read_text()[-2000:]}'
            time.sleep(0.5)
        yield Lab(base, token, home, log_path)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make, the server, and the kernels it started
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


KERNEL_IDLE = '''() => { const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && nb.content.model.cells.length > 0; }'''
# Done when every code cell has run, or a cell failed (run-all then stops; ERRORS says which).
ALL_RAN = '''() => { const nb = window.jupyterapp.shell.currentWidget, cells = nb.content.model.cells;
    let pending = false, failed = false;
    for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type !== 'code') continue;
        if (!c.executionCount) pending = true;
        for (let j = 0; j < c.outputs.length; j++) failed = failed || c.outputs.get(j).type === 'error'; }
    return (failed || !pending) && nb.sessionContext.session.kernel.status === 'idle'; }'''
ERRORS = '''() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells, bad = [];
    for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        if (c.type !== 'code') continue;
        for (let j = 0; j < c.outputs.length; j++)
            if (c.outputs.get(j).type === 'error') bad.push(i + ': ' + JSON.stringify(c.outputs.get(j).toJSON()).slice(0, 300)); }
    return bad; }'''


def slider(page, label: str):
    """The ipywidgets IntSlider whose description matches ``label``: (its element, its value)."""
    box = page.locator('.widget-hslider').filter(has=page.locator('.widget-label', has_text=re.compile(label, re.I)))
    assert box.count() == 1, f'{box.count()} sliders labelled /{label}/'
    box.scroll_into_view_if_needed()
    return box, int(box.locator('.widget-readout').text_content().strip())


def wait_for_text(cell, text: str, timeout: float) -> None:
    """Wait until ``cell`` shows ``text``; fail with what it shows instead (e.g. a traceback)."""
    deadline = time.time() + timeout
    while text not in (shown := cell.inner_text()):
        assert time.time() < deadline, f'the cell never showed {text!r}; it shows:\n{shown[-1500:]}'
        time.sleep(0.25)


# ---- 2. JupyterLab: run the lesson, move the slider -----------------------------------------------
# Every cell of the notebook on screen, one after the other (JupyterLab draws a cell's outputs only near the
# screen): the cells that show a figure as text, the images shown, and the figures the outputs hold.
SHOWN_FIGURES = '''async () => {
    const nb = window.jupyterapp.shell.currentWidget.content, as_text = [];
    let images = 0, figures = 0;
    for (let i = 0; i < nb.widgets.length; i++) {
        await nb.scrollToItem(i, 'center');
        await new Promise(resolve => setTimeout(resolve, 100));
        const node = nb.widgets[i].node;
        if (/<Figure size \\d+x\\d+ with/.test(node.innerText)) as_text.push(i);
        images += node.querySelectorAll('.jp-OutputArea-output img').length;
        const outputs = nb.widgets[i].model.outputs;
        for (let j = 0; outputs && j < outputs.length; j++) figures += 'image/png' in outputs.get(j).data;
    }
    return {as_text, images, figures}; }'''


def test_lab_runs_the_lesson_and_the_growth_rate_slider_updates_the_shape(page, lab):
    """A fresh kernel, Run All: no error, every figure an image, and the explorer's slider works."""
    if not (NOTEBOOKS / LESSON).exists():
        unavailable(f'notebooks/{LESSON} is not written yet')
    page.goto(lab.lab_url(LESSON))
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_RAN, timeout=120_000, polling=500)
    assert page.evaluate(ERRORS) == []
    shown = page.evaluate(SHOWN_FIGURES)
    assert shown['as_text'] == [], f'{LESSON}: cells {shown["as_text"]} show a figure as text in JupyterLab'
    assert shown['images'] >= shown['figures'] > 0, shown

    growth, g0 = slider(page, 'growth')
    _, convs = slider(page, 'conv')
    _, c_in = slider(page, 'in channels')
    cell = growth.locator('xpath=ancestor::div[contains(@class, "jp-CodeCell")]')
    cell.scroll_into_view_if_needed()
    wait_for_text(cell, f'Output shape: (1, {c_in + convs * g0}, 8, 8)', timeout=30)

    steps = 5  # the keyboard moves a noUiSlider one step per press, as a user's arrow keys do
    growth.locator('.noUi-handle').focus()
    for _ in range(steps):
        growth.locator('.noUi-handle').press('ArrowRight')
    g1 = g0 + steps
    page.wait_for_function('([el, v]) => el.innerText.trim() === v',
                           arg=[growth.locator('.widget-readout').element_handle(), str(g1)], timeout=10_000)
    expected = f'Output shape: (1, {c_in + convs * g1}, 8, 8)'
    wait_for_text(cell, expected, timeout=60)
    assert f'{c_in} + {convs} x {g1} = {c_in + convs * g1} channels' in cell.inner_text()
    assert 'Traceback' not in cell.inner_text()
    cell.locator('.jp-OutputArea').first.scroll_into_view_if_needed()
    screenshot(page, 'lab_dense_block_explorer.png')


# ---- 3. RISE: the sliders live inside the slideshow ------------------------------------------------
CURRENT = '.reveal .slides > section.present > section.present'  # the (sub)slide on screen
# The widget manager's failures inside the slideshow (jupyterlab-rise bundles its own JupyterLab 4.3.4):
WIDGET_MANAGER_FAILURE = re.compile(r"Failed to create module|Shared module .* doesn't exist|Unsatisfied version"
                                    r"|No satisfying version|RangeError: Maximum call stack")
# Every code cell above ``cell`` has run (a number in its prompt), or one of them failed.
ABOVE_RAN = '''(cell) => {
    const cells = [...document.querySelectorAll('.jp-CodeCell')], above = cells.slice(0, cells.indexOf(cell));
    return above.some(c => c.innerText.includes('Traceback'))
        || above.every(c => /\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').innerText)); }'''
LEFT_SLIDE = '''([selector, id]) => { const s = document.querySelector(selector); return !!s && s.id !== id; }'''


def unexplained_errors(page) -> list[str]:
    """The errors in the page's console (its frames' too) and its uncaught errors that ``KNOWN_RISE_ERRORS``
    does not explain."""
    texts = [(text, url) for kind, text, url in page.console if kind == 'error'] + [(e, '') for e in page.js_errors]
    return [f'{text} ({url})' if url else text for text, url in texts
            if not any(re.search(known, text.strip()) for known in KNOWN_RISE_ERRORS)]


def widget_manager_errors(console: list) -> list[str]:
    """Console errors and warnings of the widget manager (@jupyter-widgets in the text or the script's URL)."""
    return [text for kind, text, url in console if kind in ('error', 'warning') and
            WIDGET_MANAGER_FAILURE.search(text) and ('@jupyter-widgets' in text or '@jupyter-widgets' in url)]


def shows_01(text: str, values: dict) -> bool:
    """01's explorer: a block of `convs` conv blocks outputs in_channels + convs x growth_rate channels."""
    channels = values['in channels'] + values['convs'] * values['growth rate']
    return f'Output shape: (1, {channels:.0f}, 8, 8)' in text


def shows_02(text: str, values: dict) -> bool:
    """02's explorer: the transition keeps floor(theta x 192) of the 192 channels."""
    match = re.search(r'the transition outputs floor\(([\d.]+) x 192\) = (\d+) channels', text)
    theta = values['theta']
    return bool(match) and float(match.group(1)) == theta and int(match.group(2)) == math.floor(theta * 192 + 1e-9)


def shows_03(text: str, values: dict) -> bool:
    """03's explorer: the DenseNet it builds names the growth rate."""
    return f'densenet(growth_rate={values["growth rate"]:.0f},' in text


# notebook, the label of the slider to move, what the output says for the sliders' values
EXPLORERS = [('01_dense_blocks.ipynb', 'growth rate', shows_01),
             ('02_transition_layers.ipynb', 'theta', shows_02),
             ('03_densenet_model.ipynb', 'growth rate', shows_03)]


def palette(page, command: str) -> None:
    """Run a command by its label from the command palette (Ctrl+Shift+C), as a presenter can in the slideshow."""
    page.keyboard.press('Control+Shift+C')
    page.locator('.lm-CommandPalette-input').fill(command)
    page.locator('.lm-CommandPalette-item', has_text=command).first.wait_for(timeout=5_000)
    page.keyboard.press('Enter')


def slider_values(cell) -> dict[str, float]:
    """Every slider of a cell's output: {label: value}, as the readouts show them."""
    return {box.locator('.widget-label').inner_text().strip(): float(box.locator('.widget-readout').inner_text())
            for box in cell.locator('.widget-hslider').all()}


def wait_until_shown(cell, label: str, check, value: float, timeout: float) -> None:
    """Wait until the slider reads ``value`` and the output agrees with all sliders; fail with what it shows."""
    deadline = time.time() + timeout
    while True:
        values = slider_values(cell)
        text = cell.locator('.jp-Cell-outputArea').inner_text()
        if values.get(label) == value and check(text, values):
            return
        assert 'Traceback' not in text, text[-1500:]
        assert time.time() < deadline, f'{label} = {value}: the output never agreed with {values}:\n{text[-1500:]}'
        time.sleep(0.25)


def go_to_cell(page, notebook: str, code: re.Pattern, frame=None):
    """Go forward through the deck (Space: next fragment, subslide or slide) to the code cell matching ``code``;
    ``frame``: the slideshow's frame, when it is inside JupyterLab (Alt+R)."""
    view = frame or page
    for _ in range(100):
        cells = view.locator(f'{CURRENT} .jp-CodeCell', has=view.locator('.jp-InputArea', has_text=code))
        shown = [cell for cell in cells.all() if cell.is_visible()]   # not the cells the deck skips
        if shown:
            return shown[0]
        page.keyboard.press('Space')
        page.wait_for_timeout(150)
    pytest.fail(f'{notebook}: no slide of the deck shows a cell matching /{code.pattern}/')


def run_up_to(page, notebook: str, cell) -> None:
    """Run the cell and everything above it from the slideshow, after clearing every output."""
    cell.locator('.jp-InputPrompt').click()
    palette(page, 'Clear Outputs of All Cells')
    palette(page, 'Run All Above Selected Cell')
    page.wait_for_function(ABOVE_RAN, arg=cell.element_handle(), timeout=300_000, polling=500)
    failed = [c.inner_text()[-800:] for c in page.locator('.jp-CodeCell', has_text='Traceback').all()]
    assert not failed, f'{notebook}: a cell above the slider failed:\n{failed[0]}'
    cell.locator('.jp-InputPrompt').click()
    page.keyboard.press('Shift+Enter')


def drag(page, handle, dx: float) -> None:
    """Press the mouse on ``handle``, move it ``dx`` pixels in small steps, release it."""
    box = handle.bounding_box()
    x, y = box['x'] + box['width'] / 2, box['y'] + box['height'] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x + dx * step / 10, y)
        page.wait_for_timeout(30)
    page.mouse.up()


@pytest.mark.parametrize('notebook, label, check', EXPLORERS, ids=[n.split('_')[0] for n, _, _ in EXPLORERS])
def test_rise_slider_renders_and_responds_inside_the_slideshow(page, lab, notebook, label, check):
    if not (NOTEBOOKS / notebook).exists():
        unavailable(f'notebooks/{notebook} is not written yet')
    page.set_viewport_size({'width': slides.SCREEN[0], 'height': slides.SCREEN[1]})
    page.goto(lab.rise_url(notebook))
    page.wait_for_selector(CURRENT, timeout=90_000)
    cell = go_to_cell(page, notebook, re.compile(r'\binteract\('))   # the explorer's cell, as the slide shows it
    title = page.locator('.reveal .slides > section.present h2').first.inner_text()
    assert title.startswith('Explorer'), f'{notebook}: the slider {label!r} is on the slide {title!r}'
    run_up_to(page, notebook, cell)

    handle = cell.locator('.widget-hslider', has=page.locator('.widget-label', has_text=label)).locator('.noUi-handle')
    try:
        handle.wait_for(timeout=60_000)
    except Exception:  # noqa: BLE001 - say what the slide shows instead of a slider
        pytest.fail(f'{notebook}: no slider {label!r} rendered in the slideshow; the cell shows:\n'
                    f'{cell.inner_text()[-800:]}\nwidget manager: {widget_manager_errors(page.console)}')
    before = slider_values(cell)[label]
    wait_until_shown(cell, label, check, before, timeout=60)

    drag(page, handle, 40)  # the mouse, as a presenter moves a slider (not to its end: ArrowUp comes next)
    dragged = slider_values(cell)[label]
    assert dragged > before, f'{notebook}: dragging {label!r} 40 px to the right left it at {dragged}'
    assert dragged < float(handle.get_attribute('aria-valuemax')), f'{notebook}: 40 px took {label!r} to its end'
    wait_until_shown(cell, label, check, dragged, timeout=90)
    slide = page.locator(CURRENT).get_attribute('id')
    page.wait_for_timeout(300)
    screenshot(page, 'rise_slider_moved.png' if notebook == LESSON else f'rise_{Path(notebook).stem}_slider.png')

    # The keyboard: ArrowUp on the focused slider moves it one step and stays on the slide ...
    assert LAB_SETTINGS.exists(), f'{LAB_SETTINGS} is missing: `make setup` installs jupyterlab/overrides.json there'
    handle.focus()
    page.keyboard.press('ArrowUp')
    wait_until_shown(cell, label, check, round(dragged + (0.05 if label == 'theta' else 1), 2), timeout=90)
    assert page.locator(CURRENT).get_attribute('id') == slide, 'ArrowUp on the slider changed the slide'
    # ... and ArrowRight still goes on to the next slide.
    page.keyboard.press('ArrowRight')
    page.wait_for_function(LEFT_SLIDE, arg=[CURRENT, slide], timeout=10_000)
    assert widget_manager_errors(page.console) == []
    assert unexplained_errors(page) == []


def open_rise(page, url: str) -> None:
    """Open a slideshow at 1280x720 and put the focus on its first cell, as a presenter's click does."""
    page.set_viewport_size({'width': slides.SCREEN[0], 'height': slides.SCREEN[1]})
    page.goto(url)
    first = page.locator(f'{CURRENT} .jp-Cell:visible').first
    first.wait_for(timeout=90_000)
    assert 'navigationMode=linear' in page.url, f'the slideshow was not sent to linear navigation: {page.url}'
    first.click()
    page.keyboard.press('Escape')                    # command mode, as after a click on a slide


@pytest.mark.parametrize('notebook', DECKS, ids=lambda p: p.stem)
def test_a_clicker_walks_every_step_of_the_rise_slideshow(page, lab, notebook):
    """→ and PageDown show every slide, subslide and fragment in order, also with a cell focused."""
    expected = deck_steps(notebook)
    open_rise(page, lab.rise_url(notebook.name))
    for key in ('ArrowRight', 'PageDown'):
        back_to_the_start(page, len(expected))
        seen = press_through(page, key, len(expected))
        assert seen == expected, f'{notebook.name}, RISE, {key}: {first_difference(seen, expected)}'
    assert unexplained_errors(page) == []


# ---- the presenter's path of the README: Run All in Lab, then Alt+R -------------------------------
def slideshow_frame(page, timeout: float = 90):
    """The frame of the slideshow that Alt+R opens beside the notebook, once its slides are drawn."""
    deadline = time.time() + timeout
    while not (frames := [f for f in page.frames if '/rise/' in f.url]):
        if time.time() > deadline:
            screenshot(page, 'alt_r_no_slideshow.png')
            pytest.fail(f'Alt+R opened no slideshow; frames: {[f.url for f in page.frames]}; dialogs: '
                        f'{page.locator(".jp-Dialog").all_inner_texts()}')
        page.wait_for_timeout(500)   # not time.sleep: Playwright learns of new frames only while it waits
    frames[0].wait_for_selector(CURRENT, timeout=timeout * 1000)
    return frames[0]


def test_the_readme_path_run_all_in_lab_then_alt_r_gives_live_sliders(page, lab):
    """README, Presenting: Run All in JupyterLab, then Alt+R; the slideshow beside the notebook shares its
    kernel, and its explorer's sliders work at once: no run inside the slideshow, no widget shown as text."""
    page.set_viewport_size({'width': 1920, 'height': 1080})
    page.goto(lab.lab_url(LESSON))
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_RAN, timeout=120_000, polling=500)
    assert page.evaluate(ERRORS) == []
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook').first.focus()
    page.keyboard.press('Escape')
    page.keyboard.press('Alt+r')
    frame = slideshow_frame(page)
    assert 'navigationMode=linear' in frame.url, frame.url
    frame.locator(f'{CURRENT} .jp-Cell:visible').first.click()
    page.keyboard.press('Escape')
    page.keyboard.press('Home')
    cell = go_to_cell(page, LESSON, re.compile(r'\binteract\('), frame)
    assert 'interactive(children' not in cell.inner_text(), f'the explorer shows widget internals:\n{cell.inner_text()}'
    handle = cell.locator('.widget-hslider', has=frame.locator('.widget-label', has_text='growth rate')).locator(
        '.noUi-handle')
    handle.wait_for(timeout=30_000)
    before = slider_values(cell)
    assert cell.locator('.jp-OutputArea-output img').count() >= 1, 'the explorer shows no figure'
    assert not FIGURE_TEXT.search(cell.inner_text()), cell.inner_text()
    drag(page, handle, 80)
    after = slider_values(cell)
    assert after['growth rate'] > before['growth rate'], (before, after)
    wait_until_shown(cell, 'growth rate', shows_01, after['growth rate'], timeout=60)
    screenshot(page, 'readme_path_alt_r_slider.png')
    assert unexplained_errors(page) == []


# ---- 4. the live plot of a training run -----------------------------------------------------------
# A short run: a small model of the lesson's kind on all of Fashion-MNIST at 32 px, stopped (interrupted) once the
# plot has changed twice; the plot updates a few times per epoch (d2l_extras.training.UPDATES_PER_EPOCH).
LIVE_RUN = ("from d2l_extras.recipes import build_model, get_recipe, load_data\n"
            "from d2l_extras.training import train\n"
            "from mxnet import npx\nnpx.set_np()\n"
            "recipe = get_recipe('cpu-quick').replace(name='tiny', growth_rate=4, convs_per_block=(1, 1, 1, 1),\n"
            "                                         batch_size=256, epochs=1)\n"
            "history = train(build_model(recipe), *load_data(recipe), recipe, devices='cpu')")


def live_plot_notebook(folder: Path, name: str) -> str:
    """A one-slide notebook that trains with the live plot; returns its file name."""
    slide = {'slideshow': {'slide_type': 'slide'}}
    nb = new_notebook(cells=[new_markdown_cell('# Training, live', metadata=slide),
                             new_code_cell('from d2l_extras import check_environment\ncheck_environment()'),
                             new_code_cell(LIVE_RUN)],
                      metadata={'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
                                'rise': slides.RISE})   # as every notebook's: RISE's default theme loads web fonts
    nbformat.write(nb, folder / name)
    (folder / name).with_suffix('.css').write_text(NOTEBOOK_CSS, encoding='utf-8')   # as for every notebook
    return name


@pytest.mark.parametrize('view', ['lab', 'rise'])
def test_the_live_plot_draws_and_changes_while_it_trains(page, lab, view):
    """The training cell shows the plot as an image from its start and replaces it as the run goes on."""
    name = live_plot_notebook(lab.home / 'notebooks', f'live_plot_{view}.ipynb')
    if view == 'lab':
        page.goto(lab.lab_url(name))
        page.wait_for_function(KERNEL_IDLE, timeout=90_000)
        # Not awaited: page.evaluate would wait for the promise, which resolves when the run has ended.
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    else:
        open_rise(page, lab.rise_url(name))
        palette(page, 'Run All Cells')
    cell = page.locator('.jp-CodeCell', has=page.locator('.jp-InputArea', has_text='history = train('))
    images, deadline = [], time.time() + 240
    while len(images) < 3:                  # the first frame, then two updates
        text, shown = cell.inner_text(), cell.locator('.jp-OutputArea-output img')
        assert 'Traceback' not in text, text[-1500:]
        assert not FIGURE_TEXT.search(text), f'{view}: the live plot shows as text: {text[-500:]}'
        assert time.time() < deadline, (f'{view}: {len(images)} different images of the plot in 240 s '
                                         f'({shown.count()} shown now: {[(len(s), s[:30], s[-20:]) for s in (i.get_attribute("src") for i in shown.all())]}):\n{text[-500:]}')
        src = shown.first.get_attribute('src') if shown.count() else None
        if src and src not in images:
            images.append(src)
        time.sleep(0.25)
    assert shown.count() == 1, f'{view}: {shown.count()} images in the training cell, expected the one plot'
    screenshot(page, f'live_plot_{view}.png')
    palette(page, 'Interrupt Kernel')       # Ctrl-C: the run stops cleanly and says so
    wait_for_text(cell, 'interrupted during epoch 1', timeout=60)
    assert cell.locator('.jp-OutputArea-output img').count() == 1
    if view == 'rise':
        assert unexplained_errors(page) == []
