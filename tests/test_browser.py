"""The three views a person uses, in a real browser: Debian's Chromium driven by Playwright for Python.

1. a static deck from ``make slides`` (offline reveal.js): layout, slide count, typeset math, navigation;
2. JupyterLab: run ``01_dense_blocks.ipynb``, move the growth-rate slider, read the new output shape;
3. RISE in JupyterLab: the first slide shows the notebook's title.

Screenshots go to ``tests/screenshots/`` (git-ignored). Without Chromium or Playwright the tests skip
with the reason; with ``CI=true`` that is a failure instead, since CI must run them.
Never ``playwright install``: it would download a browser of its own; ``make test`` installs Debian's.
"""
import json
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

import pytest

from d2l_extras import slides

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / 'notebooks'
SCREENSHOTS = ROOT / 'tests' / 'screenshots'
CHROMIUM = Path('/usr/bin/chromium')
# Headless Chromium on a machine without network: no background connections, no sandbox as root.
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run']
LESSON = '01_dense_blocks.ipynb'


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
    context = browser.new_context(viewport={'width': 1280, 'height': 800})
    page = context.new_page()
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.js_errors = errors
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
    page.keyboard.press('ArrowRight')
    page.wait_for_selector('.reveal .slides > section:nth-child(2).present', timeout=5_000)
    current = page.locator('.reveal .slides > section:nth-child(2)').inner_text()
    second_title = titles[1] if slides.slide_type(nb['cells'][0]) == 'slide' else titles[0]
    assert second_title in current, f'slide 2 shows {current[:200]!r}, expected the title {second_title!r}'
    page.wait_for_timeout(300)
    screenshot(page, f'static_deck_{notebook.stem}_slide2.png')
    assert page.js_errors == []
    assert all('mybinder.org/badge' in url for url in remote), remote


# ---- a JupyterLab server for 2. and 3. ------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    """JupyterLab from the venv on 127.0.0.1 with a random token, serving a copy of notebooks/.

    Yields (base URL, token); stopped by PID at the end. The copy keeps the repository's notebooks
    untouched by the runs and saves of the tests.
    """
    home = tmp_path_factory.mktemp('lab')
    shutil.copytree(NOTEBOOKS, home / 'notebooks')
    settings = home / 'settings' / '@jupyterlab' / 'apputils-extension'
    settings.mkdir(parents=True)  # no "news" prompt over the screenshots, no update check (no network)
    (settings / 'notification.jupyterlab-settings').write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).parent / 'jupyter'
    cmd = [str(jupyter), 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={home / "notebooks"}',
           '--LabApp.expose_app_in_browser=True',  # window.jupyterapp: run commands, read the model
           f'--LabApp.user_settings_dir={home / "settings"}', f'--LabApp.workspaces_dir={home / "workspaces"}']
    if os.geteuid() == 0:
        cmd.append('--allow-root')
    env = {**os.environ, 'JUPYTER_RUNTIME_DIR': str(home / 'runtime')}
    log = open(home / 'lab.log', 'w+')
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 90
        while True:
            assert proc.poll() is None, f'jupyter lab exited: {(home / "lab.log").read_text()[-2000:]}'
            try:
                with urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.time() < deadline, f'JupyterLab not up in 90 s: {(home / "lab.log").read_text()[-2000:]}'
            time.sleep(0.5)
        yield base, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server, and the kernels it started
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
def test_lab_runs_the_lesson_and_the_growth_rate_slider_updates_the_shape(page, lab):
    if not (NOTEBOOKS / LESSON).exists():
        unavailable(f'notebooks/{LESSON} is not written yet')
    base, token = lab
    page.goto(f'{base}/lab/tree/{LESSON}?reset&token={token}')  # reset: a fresh workspace, only this tab
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_RAN, timeout=120_000, polling=500)
    assert page.evaluate(ERRORS) == []

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


# ---- 3. RISE ----------------------------------------------------------------------------------
def test_rise_shows_the_first_slide_with_its_title(page, lab):
    name = LESSON if (NOTEBOOKS / LESSON).exists() else '00_index.ipynb'
    title = slides.slide_titles(json.loads((NOTEBOOKS / name).read_text()))[0]
    base, token = lab
    page.goto(f'{base}/rise/{name}?token={token}')
    page.wait_for_selector('.reveal .slides section.present', timeout=90_000)
    page.wait_for_function('''(title) => {
        const present = document.querySelectorAll('.reveal .slides section.present');
        const slide = present[present.length - 1];
        const h1 = slide && slide.querySelector('h1');
        return !!h1 && h1.innerText.includes(title) && h1.getBoundingClientRect().height > 0; }''',
                           arg=title, timeout=60_000)
    indices = page.evaluate('''() => { const s = document.querySelectorAll('.reveal .slides > section');
        return [...s].findIndex(x => x.classList.contains('present')); }''')
    assert indices == 0  # the first slide, not a later one
    page.wait_for_timeout(500)
    screenshot(page, f'rise_{Path(name).stem}.png')
