"""The set-up files agree with each other: pins, Python version, the README's two commands, CI."""
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / 'pyproject.toml').read_text())


def pins(requirements):
    """{'name': 'version'} of the `name==version` entries in a list of requirement strings."""
    found = {}
    for req in requirements:
        match = re.fullmatch(r'\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+).*', req)
        if match:
            found[match.group(1).lower().replace('_', '-')] = match.group(3)
    return found


def test_python_is_3_8_to_3_11_and_this_is_3_11():
    assert PYPROJECT['project']['requires-python'] == '>=3.8,<3.12'
    assert sys.version_info[:2] == (3, 11)


def test_runtime_pins_include_the_stack():
    runtime = pins(PYPROJECT['project']['dependencies'])
    assert runtime['d2l'] == '1.0.3' and runtime['numpy'] == '1.23.5' and runtime['nbval'] == '0.11.0'
    extras = PYPROJECT['project']['optional-dependencies']
    assert pins(extras['cpu']) == {'mxnet': '1.9.1'}
    assert pins(extras['gpu']) == {'mxnet-cu112': '1.9.1'}


def test_constraints_agree_with_pyproject():
    constraints = pins((ROOT / 'constraints.txt').read_text().splitlines())
    declared = pins(PYPROJECT['project']['dependencies'])
    for extra in PYPROJECT['project']['optional-dependencies'].values():
        declared.update(pins(extra))
    declared.pop('mxnet-cu112')   # the GPU build is not in the CPU freeze
    disagree = {name: (version, constraints.get(name)) for name, version in declared.items()
                if constraints.get(name) != version}
    assert not disagree, f'pyproject.toml vs constraints.txt: {disagree}'


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / 'environment.yml').read_text())
    conda = [d for d in env['dependencies'] if isinstance(d, str)]
    pip_part = next(d['pip'] for d in env['dependencies'] if isinstance(d, dict))
    assert 'python=3.11' in conda and 'cudatoolkit=11.2' in conda and 'cudnn=8' in conda
    assert env['channels'] == ['conda-forge']
    assert '-e .[gpu]' in pip_part and '-c constraints.txt' in pip_part
    runtime = pins(PYPROJECT['project']['dependencies'])
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
    spinner = subprocess.Popen([sys.executable, '-c', 'import mxnet; print("ready", flush=True)\nwhile True: pass'],
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
        tool = venv / 'bin' / name
        tool.write_text('#!/bin/sh\necho "OMP_NUM_THREADS=${OMP_NUM_THREADS-unset}"\n')
        tool.chmod(0o755)
    settings = venv / 'share' / 'jupyter' / 'lab' / 'settings' / 'overrides.json'
    settings.parent.mkdir(parents=True, exist_ok=True)
    for stamp in (venv / '.installed-cpu', settings):
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
