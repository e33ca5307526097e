"""d2l_extras.compat runs before MXNet everywhere, does what MXNet 1.9.1 needs, and is the one place that knows the Python."""
import ast
import configparser
import json
import re
import site
import subprocess
import sys
from pathlib import Path

import pytest

from d2l_extras import compat

ROOT = Path(__file__).resolve().parents[1]
MXNET = re.compile(r'^\s*(import mxnet\b|from mxnet\b|from d2l import|import d2l\b)', re.M)   # d2l imports MXNet
EXTRAS = re.compile(r'^\s*(import d2l_extras\b|from d2l_extras\b)', re.M)


def first_import_lines(tree: ast.AST) -> tuple[int | None, int | None]:
    """Line of the first import of MXNet (or d2l) and of the first import of d2l_extras, in source order."""
    mxnet = extras = None
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))),
                       key=lambda n: (n.lineno, n.col_offset)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or '']
        top = {name.split('.')[0] for name in names}
        if top & {'mxnet', 'd2l'} and mxnet is None:
            mxnet = node.lineno
        if 'd2l_extras' in top and extras is None:
            extras = node.lineno
    return mxnet, extras


def code_in_strings(tree: ast.AST):
    """The text of every string literal (f-strings with their fields left out) that imports MXNet: code that a
    test or a benchmark runs in a subprocess."""
    parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in parts:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = ''.join(v.value if isinstance(v, ast.Constant) else '{...}' for v in node.values)
        else:
            continue
        if MXNET.search(text):
            yield node.lineno, text


# Python files that run on their own: the package's own modules run after its __init__ (compat first), and pytest
# imports a folder's conftest.py before its test modules, so a test module is covered by its conftest.py.
ENTRY_POINTS = sorted(p for p in [*ROOT.glob('benchmarks/*.py'), *ROOT.glob('**/conftest.py'), *ROOT.glob('scripts/*.py')]
                      if '.venv' not in p.parts)
ALL_SOURCES = sorted(p for p in ROOT.glob('*/*.py') if p.name != 'test_compat.py')   # this file's strings break the rule


@pytest.mark.parametrize('path', ENTRY_POINTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_entry_points_import_d2l_extras_before_mxnet(path):
    mxnet, extras = first_import_lines(ast.parse(path.read_text()))
    if mxnet is not None:
        assert extras is not None and extras < mxnet, \
            f'{path.name}:{mxnet} imports MXNet before d2l_extras (line {extras}): d2l_extras.compat must come first'


@pytest.mark.parametrize('path', ALL_SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_run_in_a_subprocess_imports_d2l_extras_before_mxnet(path):
    for line, code in code_in_strings(ast.parse(path.read_text())):
        before = code[:MXNET.search(code).start()]
        assert EXTRAS.search(before), f'{path.name}:{line}: code run on its own imports MXNet before d2l_extras:\n{code}'


NOTEBOOKS = sorted(ROOT.glob('notebooks/**/*.ipynb'))   # the lessons and their solutions


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / 'notebooks')))
def test_notebooks_import_d2l_extras_before_mxnet(path):
    code = '\n'.join(''.join(cell['source']) for cell in json.loads(path.read_text())['cells']
                     if cell['cell_type'] == 'code')
    found = MXNET.search(code)
    if found:
        assert EXTRAS.search(code[:found.start()]), f'{path.name} imports MXNet before d2l_extras: {found.group(0)!r}'


def test_the_import_order_checks_catch_a_late_import():
    assert first_import_lines(ast.parse('import mxnet\nimport d2l_extras')) == (1, 2)
    assert first_import_lines(ast.parse('from d2l_extras import data\nfrom mxnet import np')) == (2, 1)
    script = ast.parse('code = f"""\nfrom mxnet import npx\n{x}\n"""')
    assert [text for _, text in code_in_strings(script)] == ['\nfrom mxnet import npx\n{...}\n']


def test_the_package_imports_compat_first():
    tree = ast.parse((ROOT / 'd2l_extras' / '__init__.py').read_text())
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert isinstance(imports[0], ast.ImportFrom) and imports[0].module == 'd2l_extras' \
        and [a.name for a in imports[0].names] == ['compat']


def run(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args, '-c', code], capture_output=True, text=True, cwd=ROOT, **kwargs)


def test_compat_gives_mxnet_the_numpy_bool_it_reads():
    done = run('import d2l_extras\nimport mxnet, numpy; assert numpy.bool is bool\n'
               'from mxnet import np, npx\nnpx.set_np()\n'
               'print((np.arange(4) > 1).dtype, np.array([1, 0], dtype=bool).sum())')
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ['bool', '1']


def test_importing_the_package_loads_nothing_heavy():
    """numpy and setuptools wait for `import mxnet`: the CLI's Ctrl-C handler is set within milliseconds."""
    done = run('import sys, d2l_extras; print(sorted({"numpy", "setuptools", "mxnet"} & set(sys.modules)))')
    assert done.returncode == 0 and done.stdout.strip() == '[]', done.stdout + done.stderr[-2000:]


def test_importing_compat_warns_nothing():
    done = run('import d2l_extras.compat', '-W', 'error')
    assert done.returncode == 0, done.stderr[-2000:]


def test_mxnet_imports_without_site_hooks():
    """Python 3.12 has no distutils; setuptools' start-up hook provides it, and without the hook (python -S)
    compat imports setuptools. On 3.11, distutils is in the standard library."""
    paths = [str(ROOT), *site.getsitepackages()]
    done = run('import sys; sys.path[:0] = ' + repr(paths) + '; import d2l_extras, mxnet; print(mxnet.__version__)', '-S')
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == '1.9.1'


def test_an_unsupported_python_is_refused_with_what_to_do(monkeypatch):
    monkeypatch.setattr(compat, 'python_version', lambda: '3.13')
    with pytest.raises(RuntimeError, match=r'need Python 3\.11 or 3\.12.*make setup.*container image'):
        compat.check_python()
    import d2l_extras
    with pytest.raises(RuntimeError, match=r'3\.11 or 3\.12'):
        d2l_extras.check_environment()


def test_only_compat_knows_the_python():
    """Nothing else in the package, the benchmarks or the notebooks branches on the Python it runs on (a benchmark
    may record it: platform.python_version())."""
    asks = re.compile(r'sys\.version')
    sources = [*ROOT.glob('d2l_extras/*.py'), *ROOT.glob('benchmarks/*.py'), *NOTEBOOKS]
    offenders = [p.name for p in sources if p.name != 'compat.py' and asks.search(p.read_text())]
    assert offenders == [], offenders


def sanitize(text: str) -> str:
    config = configparser.ConfigParser()
    config.read(ROOT / 'tests' / 'nbval_sanitize.cfg')
    assert config.sections(), 'tests/nbval_sanitize.cfg has no sanitizers'
    for section in config.sections():
        text = re.sub(config[section]['regex'], config[section]['replace'], text)
    return text


def test_nbval_sees_the_ready_line_alike_on_every_python():
    """check_environment prints the Python it runs; notebooks are stored with 3.11's line, and nbval compares."""
    lines = {sanitize(f'Python {v}, MXNet 1.9.1, d2l 1.0.3: ready (seed 0)') for v in compat.SUPPORTED_PYTHONS}
    assert len(lines) == 1, lines
    assert sanitize('Python 3.11, MXNet 1.9.1, d2l 1.0.3: ready (seed 0)') != \
        sanitize('Python 3.11, MXNet 1.9.0, d2l 1.0.3: ready (seed 0)')
