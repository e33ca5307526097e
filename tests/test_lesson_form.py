"""The lesson notebooks are a lesson to do: a core lecture of at most 30 slides, a question before every answer,
exercises that answer back, solutions in their own notebooks, engineering only in notes and 'Under the hood',
"Going further" sections skipped in the slideshow, and a set-up that imports only what the notebook uses."""
import ast
import json
import re
from pathlib import Path

import pytest

from d2l_extras.exercises import EXERCISES
from d2l_extras.slides import FURTHER_KEY, deck_outline, lecture_slides

NOTEBOOKS = Path(__file__).resolve().parents[1] / 'notebooks'
SOLUTIONS = NOTEBOOKS / 'solutions'
LESSONS = sorted(p for p in NOTEBOOKS.glob('[0-9][0-9]_*.ipynb') if not p.name.startswith('00'))
CORE = [p for p in LESSONS if p.name[:2] in ('01', '02', '03', '04')]   # the one-lecture path
MAX_CORE_SLIDES = 30
ENGINEERING = re.compile(r'onednn|openmp|OMP_NUM|RESULTS\.md|engineer|CachedOp|__force_mirroring__|apache/mxnet#|'
                         r'registry|RUN_DIR|RESUME|overwrite=|run folder|subprocess|fresh process|resident|\bRSS\b|'
                         r'resolve_devices|\.\./benchmarks|benchmarks/\w+\.json', re.IGNORECASE)
ENGINEERING_PROSE = re.compile(r'graph executor|mirror', re.IGNORECASE)   # data keys in code may say 'mirror'
QUESTION = re.compile(r'\*\*(Question|Predict)[^*]*\*\*')


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding='utf-8'))['cells']


def source(cell: dict) -> str:
    return ''.join(cell['source'])


def slide_type(cell: dict) -> str:
    return cell['metadata'].get('slideshow', {}).get('slide_type', '-')


def outputs(cell: dict) -> str:
    return ''.join(''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/plain', ''))
                   for o in cell.get('outputs', []))


def under_the_hood(nb: list[dict]) -> int:
    """Index of the 'Under the hood' heading, or the number of cells when there is none."""
    return next((i for i, c in enumerate(nb) if c['cell_type'] == 'markdown'
                 and source(c).startswith('## Under the hood')), len(nb))


def solutions_of(path: Path) -> Path:
    return SOLUTIONS / f'{path.stem}_solutions.ipynb'


def exercise_ids(path: Path) -> list[str]:
    return [ex for ex in EXERCISES if ex.startswith(path.name[:2] + '.')]


def test_the_core_lecture_has_at_most_30_slides():
    counts = {p.stem: len(lecture_slides(json.loads(p.read_text()))) for p in CORE}
    print('\ncore lecture slides (title, summary and exercise slides not counted):', counts,
          'total', sum(counts.values()))
    assert sum(counts.values()) <= MAX_CORE_SLIDES, counts


@pytest.mark.parametrize('path', LESSONS, ids=lambda p: p.stem)
def test_engineering_words_only_in_notes_and_under_the_hood(path):
    nb = cells(path)
    hood = under_the_hood(nb)
    found = [f'cell {i}: {m.group(0)!r}' for i, c in enumerate(nb[:hood]) if slide_type(c) != 'notes'
             for m in [ENGINEERING.search(source(c)) or
                       (c['cell_type'] == 'markdown' and ENGINEERING_PROSE.search(source(c)))] if m]
    assert not found, f'{path.name}: engineering in lesson cells (move it to notes or Under the hood): {found}'
    assert all(slide_type(c) == 'skip' for c in nb[hood:]), f'{path.name}: Under the hood must be skipped in slides'


@pytest.mark.parametrize('path', CORE, ids=lambda p: p.stem)
def test_every_answer_of_the_lecture_follows_a_question(path):
    """On each lecture slide, a code cell that shows something (a number, a shape, an explorer) comes after a
    question on the same slide or its subslides, and is revealed later: a fragment, or a later subslide."""
    nb = cells(path)
    for entry in lecture_slides(json.loads(path.read_text())):
        group = [i for e in deck_outline(json.loads(path.read_text())) if e['h'] == entry['h'] for i in e['cells']]
        asked = [i for i in group if nb[i]['cell_type'] == 'markdown' and QUESTION.search(source(nb[i]))]
        for i in entry['cells']:
            cell = nb[i]
            if cell['cell_type'] != 'code' or not cell.get('outputs'):
                continue
            before = [q for q in asked if q < i]
            assert before, f'{path.name} cell {i} ({entry["title"]}) shows an answer that no question precedes'
            assert slide_type(cell) == 'fragment' or before[-1] not in entry['cells'], \
                f'{path.name} cell {i}: the answer must be revealed after the question (a fragment, or a later subslide)'


@pytest.mark.parametrize('path', LESSONS, ids=lambda p: p.stem)
def test_going_further_sections_are_skipped_in_the_slideshow_and_kept_for_a_second_deck(path):
    nb = cells(path)
    inside = False
    for i, c in enumerate(nb[:under_the_hood(nb)]):
        heading = re.match(r'#{2,3} (.+)', source(c)) if c['cell_type'] == 'markdown' else None
        if heading and source(c).startswith('## '):
            inside = heading.group(1).startswith('Going further')
        elif heading and heading.group(1).startswith('Going further'):
            inside = True
        if inside and slide_type(c) != 'notes':
            assert FURTHER_KEY in c['metadata'], f'{path.name} cell {i}: a Going further cell needs its second-deck type'
        if FURTHER_KEY in c['metadata']:
            assert inside and slide_type(c) == 'skip', f'{path.name} cell {i}: Going further cells are skipped in RISE'


@pytest.mark.parametrize('path', LESSONS, ids=lambda p: p.stem)
def test_no_solution_in_a_lesson_notebook(path):
    nb = cells(path)
    headings = [source(c).split('\n', 1)[0] for c in nb if c['cell_type'] == 'markdown']
    assert '## Solutions' not in headings, f'{path.name}: solutions belong in {solutions_of(path).name}'
    tagged = [i for i, c in enumerate(nb) if any(t.startswith('answer-') for t in c['metadata'].get('tags', []))]
    assert not tagged, f'{path.name}: cells {tagged} hold model answers'
    right = [i for i, c in enumerate(nb) if c['cell_type'] == 'code' and '✓' in outputs(c)]
    assert not right, f'{path.name}: cells {right} show a right answer (a ✓ from check)'


@pytest.mark.parametrize('path', LESSONS, ids=lambda p: p.stem)
def test_every_exercise_has_its_question_an_answer_cell_and_a_link_to_the_solutions(path):
    nb = cells(path)
    text = ' '.join(' '.join(source(c).split()) for c in nb if c['cell_type'] == 'markdown')
    assert solutions_of(path).exists(), f'{solutions_of(path)} is missing'
    assert f'](solutions/{solutions_of(path).name})' in text, f'{path.name}: no link to its solutions notebook'
    ids = exercise_ids(path)
    assert ids, f'{path.name} has no exercises in d2l_extras.exercises.EXERCISES'
    for ex in ids:
        assert f'**Exercise {ex}.** {" ".join(EXERCISES[ex].question.split())}' in text, \
            f'{path.name}: the question of {ex} differs from EXERCISES (or is missing)'
        if EXERCISES[ex].answers:
            calls = [c for c in nb if c['cell_type'] == 'code' and f"check('{ex}'" in source(c)]
            assert len(calls) == 1, f'{path.name}: exercise {ex} needs one answer cell calling check'
            call = next(n for n in ast.walk(ast.parse(source(calls[0]))) if isinstance(n, ast.Call)
                        and getattr(n.func, 'id', '') == 'check')
            assert sorted(k.arg for k in call.keywords) == sorted(EXERCISES[ex].answers), \
                f'{path.name}: the answer cell of {ex} must pass {sorted(EXERCISES[ex].answers)}'


@pytest.mark.parametrize('path', LESSONS, ids=lambda p: p.stem)
def test_the_solutions_notebook_answers_every_exercise_right(path):
    nb = cells(solutions_of(path))
    for ex in exercise_ids(path):
        assert any(c['cell_type'] == 'markdown' and f'answer-{ex}' in c['metadata'].get('tags', []) for c in nb), \
            f'{solutions_of(path).name}: no model answer (a markdown cell tagged answer-{ex})'
        if EXERCISES[ex].answers:
            shown = [outputs(c) for c in nb if c['cell_type'] == 'code' and f"check('{ex}'" in source(c)]
            assert shown and all(f'✓ {ex}:' in out for out in shown), \
                f'{solutions_of(path).name}: check({ex!r}, ...) does not print ✓ with the right answers'


@pytest.mark.parametrize('path', sorted(NOTEBOOKS.glob('[0-9][0-9]_*.ipynb')) + sorted(SOLUTIONS.glob('*.ipynb')),
                         ids=lambda p: p.stem)
def test_setup_imports_only_what_the_notebook_uses(path):
    everything = cells(path)
    nb = [c for c in everything if c['cell_type'] == 'code']
    said = [m for c in everything if c['cell_type'] == 'markdown' for m in re.findall(r'`([^`]+)`', source(c))]
    setup = ast.parse('\n'.join(line for line in source(nb[0]).splitlines() if not line.startswith('%')))
    imported = {alias.asname or alias.name.split('.')[0] for node in ast.walk(setup)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    rest = '\n'.join([source(c) for c in nb[1:]] + said) + '\n' + '\n'.join(
        ast.unparse(n) for n in setup.body if not isinstance(n, (ast.Import, ast.ImportFrom)))
    unused = sorted(name for name in imported if not re.search(rf'\b{re.escape(name)}\b', rest))
    assert not unused, f'{path.name}: the set-up imports names nothing uses: {unused}'


@pytest.mark.parametrize('device_type, name', [('gpu', 'full'), ('cpu', 'cpu-quick')])
def test_the_training_cell_shows_the_knobs_of_the_named_recipes(device_type, name):
    """Notebook 04's training cell writes the knobs out as the deck did; they are those of RECIPES[name]."""
    from types import SimpleNamespace

    from d2l_extras.recipes import RECIPES, Recipe
    cell = next(source(c) for c in cells(NOTEBOOKS / '04_training.ipynb')
                if c['cell_type'] == 'code' and 'd2l.try_gpu()' in source(c) and 'Recipe(' in source(c))
    assert 'lr, num_epochs, batch_size, resize = 0.1, 5, 256, 96' in cell    # the deck's, as it wrote them
    d2l = SimpleNamespace(try_gpu=lambda: SimpleNamespace(device_type=device_type))
    scope = {'d2l': d2l, 'Recipe': Recipe}
    exec(cell, scope)
    assert scope['recipe'].replace(name=name) == RECIPES[name]
