"""`make setup` finds a supported Python by running each candidate, PYTHON=... chooses, and 3.13 is refused in one line.

scripts/find-python is run here with a PATH and a pyenv folder of fake interpreters (shell scripts that print a
version, or fail as pyenv's shims do without PYENV_VERSION), then `make setup` with the real 3.13 if there is one.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIND_PYTHON = ROOT / 'scripts' / 'find-python'
PYTHONS = '3.11 3.12'


def fake_python(path: Path, version: str | None) -> Path:
    """An executable that answers find-python's probe with `version`, or fails like a pyenv shim (None)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if version is None:
        body = f'echo "pyenv: {path.name}: command not found" >&2; exit 127'
    else:
        body = f'echo {version}'
    path.write_text(f'#!/bin/sh\n{body}\n')
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path):
    """A PATH with nothing but sh and sed, and an empty pyenv folder."""
    bin_dir, pyenv = tmp_path / 'bin', tmp_path / 'pyenv'
    bin_dir.mkdir()
    (pyenv / 'versions').mkdir(parents=True)
    for tool in ('sh', 'sed'):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return bin_dir, pyenv


def find(machine, *args):
    bin_dir, pyenv = machine
    env = {'PATH': str(bin_dir), 'PYENV_ROOT': str(pyenv), 'HOME': str(pyenv.parent), 'PYTHONS': PYTHONS}
    return subprocess.run([str(FIND_PYTHON), *args], env=env, capture_output=True, text=True)


def test_prefers_311_from_pyenv_over_312_on_path_and_skips_a_broken_shim(machine):
    bin_dir, pyenv = machine
    fake_python(bin_dir / 'python3.11', None)                           # pyenv's shim without PYENV_VERSION
    fake_python(bin_dir / 'python3.12', '3.12')
    wanted = fake_python(pyenv / 'versions' / '3.11.9' / 'bin' / 'python3', '3.11')
    done = find(machine)
    assert (done.returncode, done.stdout.strip()) == (0, str(wanted)), done.stderr
    assert find(machine, '--version').stdout.strip() == '3.11'


def test_takes_312_when_it_is_the_only_supported_one(machine):
    bin_dir, _ = machine
    fake_python(bin_dir / 'python3', '3.13')
    wanted = fake_python(bin_dir / 'python3.12', '3.12')
    assert find(machine).stdout.strip() == str(wanted)


@pytest.mark.parametrize('asked', ['python3.12', '3.12'])
def test_python_names_a_version_that_a_broken_shim_cannot_run(machine, asked):
    bin_dir, pyenv = machine
    fake_python(bin_dir / 'python3.11', '3.11')
    fake_python(bin_dir / 'python3.12', None)
    wanted = fake_python(pyenv / 'versions' / '3.12.1' / 'bin' / 'python3', '3.12')
    done = find(machine, asked)
    assert (done.returncode, done.stdout.strip()) == (0, str(wanted)), done.stderr


def test_python_as_a_path_is_taken_as_it_is(machine, tmp_path):
    bin_dir, _ = machine
    fake_python(bin_dir / 'python3.11', '3.11')
    chosen = fake_python(tmp_path / 'elsewhere' / 'python', '3.12')
    assert find(machine, str(chosen)).stdout.strip() == str(chosen)


def assert_one_line_refusal(done, version):
    assert done.returncode == 1 and done.stdout == ''
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f'Python {version} cannot run this lesson' in lines[0]
    assert 'Python 3.11 or 3.12' in lines[0] and 'container image' in lines[0] and 'make image' in lines[0]


def test_313_only_is_refused_in_one_line_that_names_311_312_and_the_container(machine):
    bin_dir, _ = machine
    fake_python(bin_dir / 'python3.13', '3.13')
    fake_python(bin_dir / 'python3', '3.13')
    done = find(machine)
    assert_one_line_refusal(done, '3.13')
    assert 'numpy < 2' in done.stderr


@pytest.mark.parametrize('asked', ['3.13', 'python3.13', 'PATH'])
def test_python_313_is_refused(machine, asked, tmp_path):
    bin_dir, _ = machine
    fake_python(bin_dir / 'python3.11', '3.11')
    path = fake_python(tmp_path / 'py313' / 'python3', '3.13')
    fake_python(bin_dir / 'python3.13', '3.13')
    assert_one_line_refusal(find(machine, str(path) if asked == 'PATH' else asked), '3.13')


def test_no_python_at_all_says_what_was_tried(machine):
    done = find(machine)
    assert done.returncode == 1 and 'no Python found' in done.stderr and 'container image' in done.stderr


def test_python_that_is_no_python_is_named(machine):
    done = find(machine, 'ruby')
    assert done.returncode == 1 and 'PYTHON=ruby does not run' in done.stderr


def make_setup(tmp_path, python):
    venv = tmp_path / 'venv'
    env = {k: v for k, v in os.environ.items() if not k.startswith('MAKE')}
    done = subprocess.run(['make', '-s', 'setup', f'PYTHON={python}', f'VENV={venv}'], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    return done, venv


def refusal_lines(done):
    return [line for line in done.stderr.splitlines() if not line.startswith('make: ***')]


def test_make_setup_refuses_313_before_making_anything(tmp_path):
    python = fake_python(tmp_path / 'py313' / 'python3.13', '3.13')
    done, venv = make_setup(tmp_path, python)
    assert done.returncode != 0 and not venv.exists()
    lines = refusal_lines(done)
    assert len(lines) == 1 and 'Python 3.13 cannot run this lesson' in lines[0] and 'container image' in lines[0], \
        done.stderr


def test_make_setup_refuses_the_real_313_if_there_is_one(tmp_path):
    found = subprocess.run([str(FIND_PYTHON), '3.13'], env=dict(os.environ, PYTHONS='3.13'),
                           capture_output=True, text=True).stdout.strip()
    if not found:
        pytest.skip('no Python 3.13 on this machine')
    done, venv = make_setup(tmp_path, found)
    assert done.returncode != 0 and not venv.exists()
    lines = refusal_lines(done)
    assert len(lines) == 1 and 'Python 3.13 cannot run this lesson' in lines[0], done.stderr
