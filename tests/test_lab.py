"""`make lab` really serves JupyterLab on 127.0.0.1, with token auth on, and prints one URL: the index itself."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from test_browser import browser, page  # noqa: F401 - Chromium fixtures (they skip, or fail under CI, without it)

ROOT = Path(__file__).resolve().parents[1]
INDEX = 'notebooks/00_index.ipynb'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def status(url: str) -> int:
    """HTTP status of a GET, without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None
    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture(scope='module')
def lab():
    """`make lab` on a free port; yields (base URL, token, printed output); stops the whole process group."""
    port = free_port()
    log = open(Path(sys.prefix) / 'lab-test.log', 'w+')   # the venv of this run (.venv, .venv-3.12, the image's)
    proc = subprocess.Popen(['make', '-s', 'lab', f'PORT={port}', 'LAB_ARGS=--no-browser'], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        token = None
        while time.time() < deadline and token is None:
            assert proc.poll() is None, f'make lab exited: {Path(log.name).read_text()[-2000:]}'
            match = re.search(rf'http://127\.0\.0\.1:{port}/lab/tree/{INDEX}\?token=(\w+)', Path(log.name).read_text())
            token = match and match.group(1)
            time.sleep(0.5)
        assert token, f'no URL of {INDEX} within 120 s: {Path(log.name).read_text()[-2000:]}'
        time.sleep(2)  # anything printed right after the banner counts too
        yield f'http://127.0.0.1:{port}', token, Path(log.name).read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_lab_prints_one_url_and_it_names_the_index(lab):
    _, token, printed = lab
    urls = [line.strip() for line in printed.splitlines() if re.search(r'https?://', line)]
    assert len(urls) == 1, f'expected one URL, `make lab` printed {len(urls)}:\n' + '\n'.join(urls)
    assert urls[0].endswith(f'/lab/tree/{INDEX}?token={token}'), urls[0]


def test_lab_without_token_redirects_to_login(lab):
    base, *_ = lab
    assert status(f'{base}/lab') == 302
    assert status(f'{base}/lab/tree/{INDEX}') == 302


def test_the_printed_url_answers_with_the_token(lab):
    base, token, _ = lab
    assert status(f'{base}/lab/tree/{INDEX}?token={token}') == 200
    assert status(f'{base}/api/contents/{INDEX}?token={token}&content=0') == 200  # the path is a real notebook


def test_the_printed_url_opens_the_index_and_no_news_prompt(lab, page):
    """Followed in Chromium, the URL shows the index notebook itself (not the Launcher), and no "news" prompt."""
    base, token, _ = lab
    page.goto(f'{base}/lab/tree/{INDEX}?reset&token={token}')  # reset: the workspace of earlier runs is not used
    tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current')
    tab.filter(has_text='00_index.ipynb').wait_for(timeout=90_000)
    title = json.loads((ROOT / INDEX).read_text())['cells'][0]['source'][0].lstrip('# ').strip()
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h1', has_text=title).wait_for(timeout=30_000)
    assert page.locator('.jp-Launcher:visible').count() == 0
    page.wait_for_timeout(5_000)  # JupyterLab asks about news a few seconds after start when not told otherwise
    toasts = page.locator('.Toastify__toast').all_inner_texts()
    assert not [t for t in toasts if 'news' in t.lower()], toasts


def test_lab_listens_on_loopback_only(lab):
    base, *_ = lab
    port = int(base.rsplit(':', 1)[1])
    if not shutil.which('ss'):
        pytest.skip('ss (iproute2) not available to list listening sockets')
    listening = subprocess.run(['ss', '-ltnH', f'sport = :{port}'], capture_output=True, text=True).stdout
    assert all('127.0.0.1:' in line for line in listening.splitlines()), listening
