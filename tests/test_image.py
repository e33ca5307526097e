"""The container image serves the lesson as the README says: `docker run -p 127.0.0.1:8888:8888 IMAGE` prints the
index's address with a token, the address answers (and opens the index in Chromium), and without the token the
server answers 302 to its login page. The server runs as uid 1000, not root, and finds the data in the image.

`make image-test` runs these on this machine against the image it built (DENSENET_IMAGE names it); otherwise
they skip. `make test` inside the image runs the rest of the suite there.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from test_browser import browser, page  # noqa: F401 - Chromium fixtures (they skip, or fail under CI, without it)
from test_lab import free_port, status

ROOT = Path(__file__).resolve().parents[1]
IMAGE = os.environ.get('DENSENET_IMAGE')
INDEX = 'notebooks/00_index.ipynb'
# What the container prints, whatever the port on the host: the address a student copies into the browser.
PRINTED = re.compile(r'http://127\.0\.0\.1:8888/lab/tree/notebooks/00_index\.ipynb\?token=(\w+)')

pytestmark = pytest.mark.skipif(not IMAGE or not shutil.which('docker'),
                                reason='`make image-test` runs these (DENSENET_IMAGE names the image)')


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(('127.0.0.1', port)) != 0


def docker(*args: str) -> str:
    return subprocess.run(['docker', *args], capture_output=True, text=True, check=True, timeout=120).stdout


@pytest.fixture(scope='module')
def served():
    """The image run as the README says (8888 on the host when free); yields (host base URL, token, log, name)."""
    port = 8888 if port_is_free(8888) else free_port()
    name = f'densenet-image-test-{os.getpid()}'
    docker('run', '--detach', '--rm', '--name', name, '--publish', f'127.0.0.1:{port}:8888', IMAGE)
    try:
        deadline, token, log = time.time() + 120, None, ''
        while time.time() < deadline and token is None:
            logs = subprocess.run(['docker', 'logs', name], capture_output=True, text=True)
            log = logs.stdout + logs.stderr   # Jupyter logs to stderr
            match = PRINTED.search(log)
            token = match and match.group(1)
            time.sleep(0.5)
        assert token, f'the container printed no address of the index within 120 s:\n{log[-3000:]}'
        base = f'http://127.0.0.1:{port}'
        while time.time() < deadline and status(f'{base}/api/status?token={token}') != 200:
            time.sleep(0.5)
        yield base, token, log, name
    finally:
        subprocess.run(['docker', 'rm', '--force', name], capture_output=True)


def test_the_printed_address_opens_the_index(served):
    base, token, _, _ = served
    assert status(f'{base}/lab/tree/{INDEX}?token={token}') == 200
    assert status(f'{base}/api/contents/{INDEX}?token={token}&content=0') == 200   # a real notebook


def test_without_the_token_the_server_answers_302(served):
    base, *_ = served
    assert status(f'{base}/lab/tree/{INDEX}') == 302
    assert status(f'{base}/lab') == 302


def test_published_on_the_hosts_loopback_only(served):
    *_, name = served
    published = docker('port', name, '8888/tcp').split()
    assert published and all(address.startswith('127.0.0.1:') for address in published), published


def test_the_server_runs_as_uid_1000_with_the_data_inside(served):
    *_, name = served
    assert docker('exec', name, 'id', '-u').strip() == '1000'
    found = docker('exec', name, 'python', '-m', 'd2l_extras.data', '--no-download')
    assert '/usr/share/datasets/fashion-mnist' in found and '60000 train + 10000 test' in found, found


def test_the_index_renders_in_chromium(served, page):  # noqa: F811 - the fixture of test_browser
    base, token, _, _ = served
    page.goto(f'{base}/lab/tree/{INDEX}?reset&token={token}')
    page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current', has_text='00_index.ipynb').wait_for(timeout=90_000)
    title = json.loads((ROOT / INDEX).read_text())['cells'][0]['source'][0].lstrip('# ').strip()
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h1', has_text=title).wait_for(timeout=30_000)
    assert page.locator('.jp-Launcher:visible').count() == 0


# Every notebook of the image signed in its user's Jupyter database (`make trust`, as `make lab` does on a laptop).
UNSIGNED = ('import glob, nbformat; from nbformat.sign import NotebookNotary; notary = NotebookNotary(); '
            'print([p for p in sorted(glob.glob("notebooks/**/*.ipynb", recursive=True)) '
            'if not notary.check_signature(nbformat.read(p, as_version=4))])')


def test_the_server_has_the_projects_settings_and_trusts_the_notebooks(served):
    """What `make lab` gives a laptop, the image gives every server it runs: the slideshow's server extension
    enabled, the Lab settings, the notebooks trusted (their saved sliders show as sliders)."""
    *_, name = served
    listed = subprocess.run(['docker', 'exec', name, 'jupyter', 'server', 'extension', 'list'],
                            capture_output=True, text=True, timeout=120)
    plain = re.sub(r'\x1b\[[0-9;]*m', '', listed.stdout + listed.stderr)
    assert re.search(r'd2l_extras\.rise_server enabled', plain), plain
    assert re.search(r'd2l_extras\.rise_server\s+OK', plain), plain
    overrides = docker('exec', name, 'cat', '/opt/venv/share/jupyter/lab/settings/overrides.json')
    assert json.loads(overrides) == json.loads((ROOT / 'jupyterlab' / 'overrides.json').read_text())
    assert docker('exec', name, 'python', '-c', UNSIGNED).strip() == '[]'
