"""The lesson notebooks speak to students: engineering stays in notes and 'Under the hood', the set-up imports
only what the notebook uses, solutions wait behind a collapsed heading and never follow the exercises directly."""
import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / 'notebooks'
LESSONS = sorted(p for p in NOTEBOOKS.glob('[0-9][0-9]_*.ipynb') if not p.name.startswith('00'))
ENGINEERING = re.compile(r'onednn|openmp|OMP_NUM|RESULTS\.md|engineer|CachedOp|__force_mirroring__|apache/mxnet#',
                         re.IGNORECASE)


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding='utf-8'))['cells']


def source(cell: dict) -> str:
    return ''.join(cell['source'])


def slide_type(cell: dict) -> str:
    return cell['metadata'].get('slideshow', {}).get('slide_type', '-')


def under_the_hood(nb: list[dict]) -> int:
    """Index of the 'Under the hood' heading, or the number of cells when there is none."""
    return next((i for i, c in enumerate(nb) if c['cell_type'] == 'markdown'
                 and source(c).startswith('## Under the hood')), len(nb))


@pytest.mark.parametrize('path', LESSONS, ids=lambda p: p.stem)
def test_engineering_words_only_in_notes_and_under_the_hood(path):
    nb = cells(path)
    hood = under_the_hood(nb)
    found = [f'cell {i}: {m.group(0)!r}' for i, c in enumerate(nb[:hood]) if slide_type(c) != 'notes'
             for m in [ENGINEERING.search(source(c))] if m]
    assert not found, f'{path.name}: engineering in lesson cells (move it to notes or Under the hood): {found}'
    assert all(slide_type(c) == 'skip' for c in nb[hood:]), f'{path.name}: Under the hood must be skipped in slides'


@pytest.mark.parametrize('path', LESSONS, ids=lambda p: p.stem)
def test_solutions_are_collapsed_and_do_not_follow_the_exercises(path):
    nb = cells(path)
    headings = [(i, source(c).split('\n', 1)[0]) for i, c in enumerate(nb)
                if c['cell_type'] == 'markdown' and slide_type(c) == 'slide']
    titles = [t for _, t in headings]
    assert '## Exercises' in titles and '## Solutions' in titles, titles
    exercises, solutions = titles.index('## Exercises'), titles.index('## Solutions')
    assert solutions > exercises + 1, f'{path.name}: a slide must come between the exercises and the solutions'
    cell = nb[headings[solutions][0]]
    assert cell['metadata'].get('jp-MarkdownHeadingCollapsed') is True, f'{path.name}: Solutions not collapsed'


@pytest.mark.parametrize('path', sorted(NOTEBOOKS.glob('[0-9][0-9]_*.ipynb')), ids=lambda p: p.stem)
def test_setup_imports_only_what_the_notebook_uses(path):
    nb = [c for c in cells(path) if c['cell_type'] == 'code']
    setup = ast.parse('\n'.join(line for line in source(nb[0]).splitlines() if not line.startswith('%')))
    imported = {alias.asname or alias.name.split('.')[0] for node in ast.walk(setup)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    rest = '\n'.join(source(c) for c in nb[1:]) + '\n' + '\n'.join(
        ast.unparse(n) for n in setup.body if not isinstance(n, (ast.Import, ast.ImportFrom)))
    unused = sorted(name for name in imported if not re.search(rf'\b{re.escape(name)}\b', rest))
    assert not unused, f'{path.name}: the set-up imports names nothing uses: {unused}'
