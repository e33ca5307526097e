"""The set-up files agree with each other: pins per Python, supported Pythons, the README's two commands, CI."""
import re
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

from d2l_extras import compat

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / 'pyproject.toml').read_text())
# The pins of each supported Python (the Makefile's CONSTRAINTS picks the file by the venv's Python).
CONSTRAINTS = {'3.11': ROOT / 'constraints.txt', '3.12': ROOT / 'constraints-3.12.txt'}


def pins(requirements, python=None):
    """{'name': 'version'} of the `name==version` entries of a list of requirement strings; with `python` ('3.12'),
    only those whose environment marker holds on that Python."""
    found = {}
    for text in requirements:
        text = text.split('#')[0].strip()
        if not text or text.startswith('-'):
            continue
        req = Requirement(text)
        if python and req.marker and not req.marker.evaluate({'python_version': python}):
            continue
        exact = [spec.version for spec in req.specifier if spec.operator == '==']
        if exact:
            found[req.name.lower().replace('_', '-')] = exact[0]
    return found


def test_supported_pythons_agree_everywhere():
    """pyproject.toml, d2l_extras.compat and the Makefile name the same Pythons, and this one is among them."""
    assert PYPROJECT['project']['requires-python'] == '>=3.11,<3.13'
    assert compat.SUPPORTED_PYTHONS == ('3.11', '3.12') == tuple(CONSTRAINTS)
    makefile = (ROOT / 'Makefile').read_text()
    assert re.search(r'^PYTHONS := (.*)$', makefile, re.M).group(1).split() == list(compat.SUPPORTED_PYTHONS)
    assert compat.python_version() in compat.SUPPORTED_PYTHONS, sys.version


def test_runtime_pins_include_the_stack():
    deps = PYPROJECT['project']['dependencies']
    on_311, on_312 = pins(deps, '3.11'), pins(deps, '3.12')
    assert on_311['d2l'] == '1.0.3' and on_311['numpy'] == '1.23.5' and on_311['nbval'] == '0.11.0'
    assert 'setuptools' not in on_311
    # 3.12: d2l without its pins (`make setup` installs it with --no-deps), numpy 1.26 (< 2, as MXNet asks), setuptools.
    assert 'd2l' not in on_312 and on_312['numpy'] == '1.26.4' and 'setuptools' in on_312
    assert {name for name in on_311 if name != 'd2l'} == set(on_312) - {'scipy', 'setuptools'}
    extras = PYPROJECT['project']['optional-dependencies']
    assert pins(extras['cpu']) == {'mxnet': '1.9.1'}
    assert pins(extras['gpu']) == {'mxnet-cu112': '1.9.1'}


def test_every_pin_that_differs_between_pythons_says_why():
    for line in (ROOT / 'pyproject.toml').read_text().splitlines():
        if 'python_version' in line and line.strip().startswith('"'):
            assert '#' in line.split('",', 1)[1], f'pin without a comment: {line.strip()}'


def test_constraints_agree_with_pyproject():
    """Each Python's constraints pin what pyproject.toml pins for it, and d2l 1.0.3 (which `make setup` installs
    with -c CONSTRAINTS, without its pins on 3.12)."""
    for python, path in CONSTRAINTS.items():
        constraints = pins(path.read_text().splitlines())
        declared = pins(PYPROJECT['project']['dependencies'], python)
        for name, extra in PYPROJECT['project']['optional-dependencies'].items():
            # The GPU build and its CUDA libraries are not in the CPU freeze; hub is the container image's (3.11).
            if name not in ('gpu', 'cuda') and (name != 'hub' or python == '3.11'):
                declared.update(pins(extra, python))
        declared['d2l'] = '1.0.3'
        disagree = {name: (version, constraints.get(name)) for name, version in declared.items()
                    if constraints.get(name) != version}
        assert not disagree, f'pyproject.toml vs {path.name}: {disagree}'


def test_constraints_of_312_differ_from_311_only_where_pyproject_says():
    on_311 = pins(CONSTRAINTS['3.11'].read_text().splitlines())
    on_312 = pins(CONSTRAINTS['3.12'].read_text().splitlines())
    changed = {name for name in on_311.keys() & on_312.keys() if on_311[name] != on_312[name]}
    assert changed == {'numpy', 'pandas', 'matplotlib', 'scipy'}


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / 'environment.yml').read_text())
    conda = [d for d in env['dependencies'] if isinstance(d, str)]
    pip_part = next(d['pip'] for d in env['dependencies'] if isinstance(d, dict))
    assert 'python=3.11' in conda and 'cudatoolkit=11.2' in conda and 'cudnn=8' in conda
    assert env['channels'] == ['conda-forge']
    assert '-e .[gpu]' in pip_part and '-c constraints.txt' in pip_part
    runtime = pins(PYPROJECT['project']['dependencies'], '3.11')
    for name, version in pins(pip_part).items():
        assert runtime[name] == version, f'environment.yml pins {name}=={version}, pyproject {runtime[name]}'


def test_every_environment_pin_has_a_comment():
    for line in (ROOT / 'environment.yml').read_text().splitlines():
        if re.match(r'\s*- [^#]*[=<>]', line):
            assert '#' in line, f'pin without a comment saying why: {line.strip()}'


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / 'README.md').read_text()
    first_block = readme.split('```')[1]
    assert 'make lab' in first_block and 'make test' in first_block


def test_ci_runs_make_test_and_nothing_else():
    commands = [line for line in (ROOT / '.ci' / 'run').read_text().splitlines()
                if line.strip() and not line.startswith(('#', 'set ', 'cd '))]
    assert commands == ['make test']


def test_lab_binds_loopback_and_keeps_token_auth():
    makefile = (ROOT / 'Makefile').read_text()
    lab = makefile.split('\nlab:')[1].split('\n\n')[0]
    assert '--ip=127.0.0.1' in lab and 'token' not in lab.replace('token auth', '')
    assert '--allow-root' in lab and 'id -u' in lab


def test_use_all_cores_sets_omp_threads_unless_the_user_did(monkeypatch):
    import os

    import d2l_extras
    import d2l_extras.cores
    monkeypatch.setattr(d2l_extras.cores, 'busy_mxnet_processes', lambda: 0)   # no other training on this machine
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    d2l_extras.use_all_cores()
    assert os.environ['OMP_NUM_THREADS'] == str(os.cpu_count())
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    monkeypatch.setattr(d2l_extras.cores, 'busy_mxnet_processes', lambda: 1 / 0)   # not even looked at
    d2l_extras.use_all_cores()
    assert os.environ['OMP_NUM_THREADS'] == '1'


def test_beside_a_busy_mxnet_process_use_all_cores_takes_its_share_and_says_so(monkeypatch, capsys):
    """A second training gets cores / 2 threads (each taking every core slows both about fourfold); an idle
    MXNet process (a notebook kernel between cells) does not count."""
    import os
    import signal
    import subprocess
    import sys

    import d2l_extras
    spinner = subprocess.Popen([sys.executable, '-c', 'import d2l_extras, mxnet; print("ready", flush=True)\nwhile True: pass'],
                               env={**os.environ, 'OMP_NUM_THREADS': '1'}, stdout=subprocess.PIPE, text=True)
    try:
        assert spinner.stdout.readline() == 'ready\n'
        real_listdir = os.listdir                       # only our spinner and this process: other users' runs vary
        monkeypatch.setattr(os, 'listdir', lambda path: [str(spinner.pid), str(os.getpid()), 'self']
                            if path == '/proc' else real_listdir(path))
        monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
        d2l_extras.use_all_cores()
        cores = os.cpu_count()
        assert os.environ['OMP_NUM_THREADS'] == str(max(1, cores // 2))
        note = capsys.readouterr().err
        if cores > 1:
            assert note.startswith('note: 1 other MXNet process(es) busy on the') and note.count('\n') == 1
        spinner.send_signal(signal.SIGSTOP)             # loaded MXNet, computes nothing
        monkeypatch.delenv('OMP_NUM_THREADS')
        d2l_extras.use_all_cores()
        assert os.environ['OMP_NUM_THREADS'] == str(cores) and capsys.readouterr().err == ''
    finally:
        spinner.kill()
        spinner.wait()


def make_env(tmp_path, target, **env):
    """The OMP_NUM_THREADS that ``make TARGET`` gives the program it starts (JupyterLab, pytest), with a stand-in
    venv whose python and jupyter only say what they got (the set-up stamps are newer than what they stand on)."""
    import os
    import subprocess
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True, exist_ok=True)
    for name in ('python', 'jupyter'):
        tool = venv / 'bin' / name      # the Makefile asks the venv's python its version: it is a 3.11 one
        tool.write_text('#!/bin/sh\ncase "$*" in *sys.version_info*) echo 3.11; exit;; esac\n'
                        'echo "OMP_NUM_THREADS=${OMP_NUM_THREADS-unset}"\n')
        tool.chmod(0o755)
    settings = venv / 'share' / 'jupyter' / 'lab' / 'settings' / 'overrides.json'
    settings.parent.mkdir(parents=True, exist_ok=True)
    for stamp in (venv / '.installed-cpu-python3.11', settings):
        stamp.write_text('')
        os.utime(stamp, (2 ** 31, 2 ** 31))              # newer than pyproject.toml and jupyterlab/overrides.json
    clean = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'MAKEFLAGS', 'MFLAGS', 'MAKELEVEL')}
    done = subprocess.run(['make', '-s', '-C', str(ROOT), f'VENV={venv}', target], env={**clean, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(re.findall(r'^OMP_NUM_THREADS=(\S+)$', done.stdout, flags=re.M))


def test_make_test_uses_every_core_and_make_lab_lets_the_notebooks_share_them(tmp_path):
    """A kernel of `make lab` must not inherit OMP_NUM_THREADS: use_all_cores gives it a share of the cores
    beside other MXNet processes, which an inherited value would switch off."""
    import os
    assert make_env(tmp_path, 'nbval') == {str(len(os.sched_getaffinity(0)))}   # nproc's count
    assert make_env(tmp_path, 'lab') == {'unset'}
    assert make_env(tmp_path, 'lab', OMP_NUM_THREADS='1') == {'1'}           # what the user sets wins
    assert make_env(tmp_path, 'nbval', OMP_NUM_THREADS='1') == {'1'}
