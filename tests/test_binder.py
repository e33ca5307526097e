"""Binder's files agree with pyproject.toml, and the Binder links exist only with the repository's public address."""
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from d2l_extras import navigation

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / 'binder'
BINDER_URL = re.compile(r'https://mybinder\.org/[^)\s"]*')


def exact_pins(requirements):
    """{'name': 'version'} of requirement strings, each of which must pin one exact version."""
    pins = {}
    for text in requirements:
        req = Requirement(text)
        if req.marker and not req.marker.evaluate({'python_version': '3.11'}):   # Binder's Python
            continue
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == '==', f'not an exact pin: {text!r}'
        pins[req.name.lower().replace('_', '-')] = specs[0].version
    return pins


@pytest.fixture(scope='module')
def project():
    return tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']


@pytest.fixture(scope='module')
def environment():
    return yaml.safe_load((BINDER / 'environment.yml').read_text())


def test_binder_pins_are_pyprojects_runtime_and_cpu_pins(project, environment):
    pip_part = next(d['pip'] for d in environment['dependencies'] if isinstance(d, dict))
    expected = exact_pins(project['dependencies'] + project['optional-dependencies']['cpu'])
    assert exact_pins(pip_part) == expected


def test_binder_python_is_the_one_the_project_supports(project, environment):
    conda = [d for d in environment['dependencies'] if isinstance(d, str)]
    pythons = [d for d in conda if d.startswith('python')]
    assert pythons == ['python=3.11']
    assert project['requires-python'] == '>=3.11,<3.13'  # 3.11 is inside
    assert 'pip' in conda and not any('cu' in d and 'mxnet' in d for d in conda)


def test_every_binder_pin_says_why():
    for line in (BINDER / 'environment.yml').read_text().splitlines():
        if re.match(r'\s*- [^#]*[=<>]', line):
            assert '#' in line, f'pin without a comment: {line.strip()}'


def test_apt_txt_installs_the_dataset():
    packages = [line.strip() for line in (BINDER / 'apt.txt').read_text().splitlines()
                if line.strip() and not line.startswith('#')]
    assert packages == ['dataset-fashion-mnist']


def test_postbuild_is_strict_executable_and_installs_the_project():
    script = BINDER / 'postBuild'
    lines = script.read_text().splitlines()
    assert lines[0] == '#!/bin/bash' and 'set -e' in lines
    assert os.access(script, os.X_OK)
    commands = [line for line in lines if line.strip() and not line.startswith('#')]
    assert 'python -m pip install --no-deps -e .' in commands  # dependencies come from environment.yml
    assert 'python -m d2l_extras.data' in commands             # the apt.txt data is really found


def test_git_keeps_postbuild_executable():
    out = subprocess.run(['git', 'ls-files', '-s', 'binder/postBuild'], cwd=ROOT,
                         capture_output=True, text=True).stdout
    if not out:
        pytest.skip('binder/postBuild is not committed yet')
    assert out.startswith('100755'), out


@pytest.mark.parametrize('path', sorted((ROOT / 'notebooks').glob('[0-9][0-9]_*.ipynb')), ids=lambda p: p.name)
def test_notebook_links_binder_only_with_the_public_address(path):
    """With [project.urls] Repository set, the first cell links Binder on this notebook; without it, nothing does."""
    address = navigation.repository()
    nb = json.loads(path.read_text())
    first = ''.join(nb['cells'][0]['source'])
    if address is None:
        assert not BINDER_URL.search(path.read_text()), f'{path.name} links Binder, but the repository has no ' \
            f'public address: run `python -m d2l_extras.navigation`'
    else:
        assert BINDER_URL.findall(first) == [navigation.binder_url(address, f'notebooks/{path.name}')], first
    assert navigation.BADGE_IMAGE not in path.read_text(), f'{path.name}: a badge image shows broken offline'


def test_binder_url_builds_the_repository_and_opens_the_notebook():
    url = navigation.binder_url('https://github.com/owner/densenet-notebooks.git', 'notebooks/01_dense_blocks.ipynb')
    assert url == 'https://mybinder.org/v2/gh/owner/densenet-notebooks/HEAD?labpath=notebooks%2F01_dense_blocks.ipynb'


def test_postbuild_installs_the_lab_settings_that_make_setup_installs():
    script = (BINDER / 'postBuild').read_text()
    assert 'jupyterlab/overrides.json' in script and 'share/jupyter/lab/settings' in script
    makefile = (ROOT / 'Makefile').read_text()
    assert 'LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json' in makefile
    json.loads((ROOT / 'jupyterlab' / 'overrides.json').read_text())
