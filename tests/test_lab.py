"""`make lab` really serves JupyterLab on 127.0.0.1, with token auth on."""
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
    """`make lab` on a free port; yields (base URL, token); stops the whole process group."""
    port = free_port()
    log = open(ROOT / '.venv' / 'lab-test.log', 'w+')
    proc = subprocess.Popen(['make', '-s', 'lab', f'PORT={port}', 'LAB_ARGS=--no-browser'], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        token = None
        while time.time() < deadline and token is None:
            assert proc.poll() is None, f'make lab exited: {Path(log.name).read_text()[-2000:]}'
            match = re.search(rf'http://127\.0\.0\.1:{port}/lab\?token=(\w+)', Path(log.name).read_text())
            token = match and match.group(1)
            time.sleep(0.5)
        assert token, f'no JupyterLab URL within 120 s: {Path(log.name).read_text()[-2000:]}'
        yield f'http://127.0.0.1:{port}', token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def test_lab_without_token_redirects_to_login(lab):
    base, _ = lab
    assert status(f'{base}/lab') == 302


def test_lab_with_token_serves_the_page(lab):
    base, token = lab
    assert status(f'{base}/lab?token={token}') == 200


def test_lab_listens_on_loopback_only(lab):
    base, _ = lab
    port = int(base.rsplit(':', 1)[1])
    listening = subprocess.run(['ss', '-ltnH', f'sport = :{port}'], capture_output=True, text=True).stdout
    if not listening:
        pytest.skip('ss (iproute2) not available to list listening sockets')
    assert all('127.0.0.1:' in line for line in listening.splitlines()), listening
