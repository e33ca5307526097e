"""d2l's #@save habit: a lesson cell whose first line is `#@save` has a byte-for-byte twin in
d2l_extras/densenet.py, and every #@save block there is taught in a notebook. Fails on drift."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ['01_dense_blocks.ipynb', '02_transition_layers.ipynb', '03_densenet_model.ipynb']
EXPECTED = {'01_dense_blocks.ipynb': {'conv_block', 'DenseBlock'},
            '02_transition_layers.ipynb': {'transition_block'},
            '03_densenet_model.ipynb': {'densenet'}}


def module_blocks() -> dict[str, str]:
    """The #@save blocks of densenet.py (each runs to the next two blank lines), by defined name."""
    blocks = {}
    for chunk in (ROOT / 'd2l_extras' / 'densenet.py').read_text(encoding='utf-8').split('\n\n\n'):
        chunk = chunk.strip('\n')
        if chunk.startswith('#@save\n'):
            name = chunk.split('\n')[1].split()[1].split('(')[0].rstrip(':')
            blocks[name] = chunk
    return blocks


def saved_cells(path: Path) -> list[str]:
    """Sources of the code cells of the notebook at ``path`` whose first line is #@save."""
    cells = json.loads(path.read_text(encoding='utf-8'))['cells']
    sources = [''.join(c['source']) for c in cells if c['cell_type'] == 'code']
    return [s for s in sources if s.split('\n', 1)[0].strip() == '#@save']


def twins(path: Path) -> set[str]:
    """Names taught by the #@save cells of a notebook; AssertionError on a cell without a twin."""
    blocks, taught = module_blocks(), set()
    for source in saved_cells(path):
        matches = [name for name, block in blocks.items() if block == source]
        assert matches, (f'{path.name}: this #@save cell has no byte-identical twin in '
                         'd2l_extras/densenet.py (copy the cell there or the module block here):'
                         f'\n{source}')
        taught.update(matches)
    return taught


def test_module_has_the_lesson_blocks():
    assert set(module_blocks()) == set().union(*EXPECTED.values())


@pytest.mark.parametrize('notebook', LESSONS)
def test_saved_cells_are_byte_identical_to_the_module(notebook):
    taught = twins(ROOT / 'notebooks' / notebook)
    assert taught == EXPECTED[notebook], f'{notebook} should teach {EXPECTED[notebook]}, teaches {taught}'


@pytest.mark.parametrize('edit', [lambda s: s.replace('padding=1', 'padding=2'), lambda s: s + ' ',
                                  lambda s: s.replace('    ', '\t', 1)])
def test_drift_is_detected(tmp_path, edit):
    """One changed character in a #@save cell fails the check."""
    source = edit(module_blocks()['conv_block'])
    notebook = tmp_path / 'drifted.ipynb'
    notebook.write_text(json.dumps({'cells': [{'cell_type': 'code', 'source': source}]}), encoding='utf-8')
    with pytest.raises(AssertionError, match='no byte-identical twin'):
        twins(notebook)
