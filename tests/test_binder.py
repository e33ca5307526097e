"""Binder builds the one Dockerfile, as Binder asks of a Dockerfile; the Binder links exist only with the
repository's public address."""
import json
import re
from pathlib import Path

import pytest

from d2l_extras import navigation

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / 'Dockerfile').read_text()
BINDER_URL = re.compile(r'https://mybinder\.org/[^)\s"]*')


def instructions(text: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    joined = re.sub(r'\\\n\s*', ' ', '\n'.join(line for line in text.splitlines() if not line.lstrip().startswith('#')))
    return [line.strip() for line in joined.splitlines() if line.strip()]


def test_binder_builds_the_root_dockerfile_and_nothing_else():
    """repo2docker reads binder/ alone when it exists, and with a Dockerfile it ignores every other file
    (environment.yml at the root is the GPU conda environment, not Binder's)."""
    assert not (ROOT / 'binder').exists() and not (ROOT / '.binder').exists()
    assert (ROOT / 'Dockerfile').is_file()


def test_dockerfile_meets_binders_requirements():
    """Binder's Dockerfile rules: a tagged base, the user NB_USER/NB_UID it passes (uid 1000), the repository in
    $HOME owned by that user, `jupyter` (notebook and jupyterhub) on PATH, an ENTRYPOINT that runs its command."""
    lines = instructions(DOCKERFILE)
    base = next(line for line in lines if line.startswith('ARG BASE='))
    assert re.fullmatch(r'ARG BASE=[\w./-]+:[\w.-]+', base) and not base.endswith(':latest'), base
    assert 'ARG NB_USER=jovyan' in lines and 'ARG NB_UID=1000' in lines
    assert any(line.startswith('RUN useradd') and '--uid ${NB_UID}' in line and '${NB_USER}' in line for line in lines)
    assert 'ENV USER=${NB_USER} NB_UID=${NB_UID} HOME=/home/${NB_USER} VENV=/opt/venv' in lines
    assert 'COPY --chown=${NB_UID}:${NB_UID} . ${HOME}' in lines
    assert 'ENV PATH=${VENV}/bin:${PATH}' in lines                  # jupyter, jupyter-notebook, jupyterhub-singleuser
    assert [line for line in lines if line.startswith('USER ')][-1] == 'USER ${NB_UID}'   # not root
    assert 'ENTRYPOINT ["tini", "-g", "--"]' in lines               # tini runs the command Binder gives
    constraints = (ROOT / 'constraints.txt').read_text().splitlines()
    assert any(line.startswith('notebook==') for line in constraints)   # `jupyter notebook`, as Binder launches it
    assert any(line.startswith('jupyterhub==') for line in constraints)  # `jupyterhub-singleuser`


def test_the_image_installs_the_project_as_make_setup_does():
    """One set-up for a laptop and the image: `make setup` (its pins, the settings below), `make data` and
    `make trust` (the notebooks signed, as `make lab` signs them)."""
    assert any(re.search(r'make setup data trust PYTHON=python3\.11 GPU=\$\{GPU\} EXTRAS=\$extras', line)
               for line in instructions(DOCKERFILE))
    makefile = (ROOT / 'Makefile').read_text()
    assert re.search(r'^lab: setup data trust$', makefile, re.M)


@pytest.mark.parametrize('source, target', [
    ('jupyterlab/overrides.json', 'share/jupyter/lab/settings/overrides.json'),
    ('jupyterlab/jupyter_server_config.json', 'etc/jupyter/jupyter_server_config.d/d2l-extras.json')])
def test_make_setup_installs_the_settings_into_the_venv_of_every_server(source, target):
    """The Lab settings and the server's (the slideshow's server extension) are files of `make setup`, installed into
    the venv, whose `jupyter` every server of the image runs (Binder's and a hub's included)."""
    makefile = (ROOT / 'Makefile').read_text()
    variable = re.search(rf'^(\w+) := \$\(VENV\)/{re.escape(target)}$', makefile, re.M).group(1)
    assert f'$({variable}): {source} $(STAMP)' in makefile
    assert f'$({variable})' in re.search(r'^setup:(.*)$', makefile, re.M).group(1)
    json.loads((ROOT / source).read_text())


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
