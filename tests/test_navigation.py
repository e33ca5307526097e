"""The notebook script: the real notebooks are up to date, and the script is idempotent and touches nothing else."""
import json
import re
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from d2l_extras import navigation as nav
from d2l_extras import slides


def test_real_notebooks_have_no_drift(capsys):
    """`python -m d2l_extras.navigation --check` passes on the repository's notebooks."""
    status = nav.main(['--check'])
    assert status == 0, capsys.readouterr().out


def test_every_real_notebook_has_nav_cells_top_and_bottom():
    for path in nav.notebook_paths():
        cells = nav.read_notebook(path)['cells']
        tagged = [i for i, c in enumerate(cells) if nav.has_tag(c, nav.NAV_TAG)]
        assert tagged == [1, len(cells) - 1], path.name
        for i in tagged:
            assert cells[i]['metadata']['slideshow']['slide_type'] == 'skip'
            assert '[Contents](00_index.ipynb)' in nav.cell_source(cells[i])


def write(path, cells):
    nb = new_notebook(cells=cells, metadata={'kernelspec': {'name': 'python3', 'display_name': 'Python 3',
                                                           'language': 'python'}})
    nbformat.write(nb, path)


@pytest.fixture
def tiny_set(tmp_path):
    """An index with a contents cell and two lessons, one with an executed code cell."""
    contents = new_markdown_cell('(filled by the script)', metadata={'tags': ['contents']})
    write(tmp_path / '00_index.ipynb', [new_markdown_cell('# DenseNet notebooks\n*Index.*'),
                                        new_markdown_cell('## How to run'), contents])
    code = new_code_cell('1 + 1', execution_count=7,
                         outputs=[new_output('execute_result', {'text/plain': '2'}, execution_count=7)])
    write(tmp_path / '01_dense_blocks.ipynb', [new_markdown_cell('# Dense blocks\n*Concatenate.*'),
                                               new_markdown_cell('## Setup'), code])
    write(tmp_path / '02_transition_layers.ipynb', [new_markdown_cell('# Transition layers')])
    return tmp_path


def test_update_writes_links_and_contents(tiny_set):
    drift = nav.update(tiny_set)
    assert len(drift) >= 3  # every notebook changed
    lesson = nav.read_notebook(tiny_set / '01_dense_blocks.ipynb')['cells']
    expected = ('< [DenseNet notebooks](00_index.ipynb) | [Contents](00_index.ipynb) | '
                '[Transition layers](02_transition_layers.ipynb) >')
    assert [nav.cell_source(c) for c in lesson] == [
        '# Dense blocks\n*Concatenate.*', expected, '## Setup', '1 + 1', expected]
    assert lesson[3]['execution_count'] == 7 and lesson[3]['outputs'][0]['data'] == {'text/plain': ['2']}
    last = nav.read_notebook(tiny_set / '02_transition_layers.ipynb')['cells']
    assert nav.cell_source(last[1]) == '< [Dense blocks](01_dense_blocks.ipynb) | [Contents](00_index.ipynb)'
    index = nav.read_notebook(tiny_set / '00_index.ipynb')['cells']
    assert nav.cell_source(index[1]) == ('[Contents](00_index.ipynb) | [Dense blocks](01_dense_blocks.ipynb) >')
    contents = [c for c in index if nav.has_tag(c, 'contents')][0]
    assert nav.cell_source(contents) == ('## Contents\n\n1. [Dense blocks](01_dense_blocks.ipynb)\n'
                                         '2. [Transition layers](02_transition_layers.ipynb)')
    for path in tiny_set.glob('*.ipynb'):  # still valid notebooks
        nbformat.validate(nbformat.read(path, as_version=4))


def test_second_run_changes_no_byte(tiny_set):
    nav.update(tiny_set)
    before = {p.name: p.read_bytes() for p in tiny_set.iterdir()}
    assert nav.update(tiny_set) == []
    assert nav.main(['--check', '--dir', str(tiny_set)]) == 0
    assert {p.name: p.read_bytes() for p in tiny_set.iterdir()} == before


def test_every_notebook_gets_the_stylesheet_rise_asks_for(tiny_set, capsys):
    """RISE requests <notebook>.css beside every notebook it shows: each gets one, a comment only."""
    nav.update(tiny_set)
    css = sorted(p.name for p in tiny_set.glob('*.css'))
    assert css == ['00_index.css', '01_dense_blocks.css', '02_transition_layers.css']
    assert all((tiny_set / name).read_text() == nav.NOTEBOOK_CSS for name in css)
    assert re.fullmatch(r'/\*.*\*/\n', nav.NOTEBOOK_CSS, flags=re.S)     # nothing but a comment
    (tiny_set / '01_dense_blocks.css').unlink()
    (tiny_set / '02_transition_layers.css').write_text('h1 { color: red }')
    assert nav.main(['--check', '--dir', str(tiny_set)]) == 1
    out = capsys.readouterr().out
    assert '01_dense_blocks.css: missing' in out and '02_transition_layers.css: differs' in out
    nav.update(tiny_set)
    assert (tiny_set / '02_transition_layers.css').read_text() == nav.NOTEBOOK_CSS


def test_real_notebooks_have_their_stylesheets():
    for path in nav.notebook_paths():
        assert path.with_suffix('.css').read_text() == nav.NOTEBOOK_CSS, f'{path.stem}.css: run the navigation script'


def test_check_reports_drift_and_writes_nothing(tiny_set, capsys):
    nav.update(tiny_set)
    # A new notebook arrives: every neighbour's links and the contents drift.
    write(tiny_set / '03_densenet_model.ipynb', [new_markdown_cell('# DenseNet model')])
    before = {p.name: p.read_bytes() for p in tiny_set.glob('*.ipynb')}
    assert nav.main(['--check', '--dir', str(tiny_set)]) == 1
    out = capsys.readouterr().out
    assert '03_densenet_model.ipynb: 1 cells, expected 3' in out
    assert '02_transition_layers.ipynb: cell 1 (navigation)' in out
    assert '00_index.ipynb' in out and 'DenseNet model' in out
    assert {p.name: p.read_bytes() for p in tiny_set.glob('*.ipynb')} == before
    assert nav.main(['--dir', str(tiny_set)]) == 0
    assert nav.update(tiny_set, check=True) == []


def test_stale_and_misplaced_nav_cells_are_replaced(tiny_set):
    path = tiny_set / '02_transition_layers.ipynb'
    nb = nav.read_notebook(path)
    stale = nav.nav_cell('< old | links >', 'nav-old', with_id=True)
    nb['cells'] = [nb['cells'][0], new_markdown_cell('Text.'), stale, stale]
    path.write_text(json.dumps(nb))
    nav.update(tiny_set)
    cells = nav.read_notebook(path)['cells']
    assert [nav.has_tag(c, 'nav') for c in cells] == [False, True, False, True]
    assert nav.cell_source(cells[2]) == 'Text.'


def test_index_without_contents_cell_is_an_error(tiny_set):
    write(tiny_set / '00_index.ipynb', [new_markdown_cell('# DenseNet notebooks')])
    with pytest.raises(ValueError, match="exactly one cell tagged 'contents'"):
        nav.update(tiny_set)


def test_folder_without_index_is_an_error(tiny_set, tmp_path_factory):
    other = tmp_path_factory.mktemp('no_index')
    shutil.copy(tiny_set / '01_dense_blocks.ipynb', other)
    with pytest.raises(ValueError, match='00_index.ipynb'):
        nav.update(other)


def test_nav_lines_have_no_empty_ends():
    first, middle, last = (nav.nav_source(*ends) for ends in (
        (None, ('B', 'b.ipynb')), (('A', 'a.ipynb'), ('C', 'c.ipynb')), (('B', 'b.ipynb'), None)))
    assert first == '[Contents](00_index.ipynb) | [B](b.ipynb) >'
    assert middle == '< [A](a.ipynb) | [Contents](00_index.ipynb) | [C](c.ipynb) >'
    assert last == '< [B](b.ipynb) | [Contents](00_index.ipynb)'


def test_title_is_the_first_heading_not_a_nav_link():
    nb = {'cells': [nav.nav_cell('< [A](a.ipynb) | >', 'nav-top', False),
                    new_markdown_cell('Intro text\n\n## Dense blocks ##')]}
    assert nav.first_heading(nb) == 'Dense blocks'
    with pytest.raises(ValueError, match='no markdown heading'):
        nav.first_heading({'cells': [new_code_cell('# a comment')]})


def test_update_sets_the_rise_settings_and_keeps_the_rest_of_the_metadata(tiny_set):
    path = tiny_set / '01_dense_blocks.ipynb'
    nb = nav.read_notebook(path)
    nb['metadata']['rise'] = {'theme': 'simple', 'enable_chalkboard': True}
    path.write_text(json.dumps(nb))
    assert any('metadata.rise' in line for line in nav.update(tiny_set, check=True))
    nav.update(tiny_set)
    metadata = nav.read_notebook(path)['metadata']
    assert metadata['rise'] == slides.RISE and metadata['kernelspec']['name'] == 'python3'


def test_binder_link_follows_the_address_and_leaves_none_without_it(tiny_set):
    address = 'https://github.com/owner/densenet-notebooks'
    path = tiny_set / '01_dense_blocks.ipynb'
    nav.update(tiny_set, address=address)
    first = nav.cell_source(nav.read_notebook(path)['cells'][0])
    assert first == ('# Dense blocks\n*Concatenate.*\n\n[Run this notebook on Binder](https://mybinder.org/v2/gh/'
                     'owner/densenet-notebooks/HEAD?labpath=notebooks%2F01_dense_blocks.ipynb)')
    assert nav.update(tiny_set, address=address) == []       # idempotent
    assert nav.update(tiny_set, check=True) != []             # the address went away: drift
    nav.update(tiny_set)
    assert nav.cell_source(nav.read_notebook(path)['cells'][0]) == '# Dense blocks\n*Concatenate.*'


def test_an_old_image_badge_is_removed(tiny_set):
    path = tiny_set / '02_transition_layers.ipynb'
    nb = nav.read_notebook(path)
    nb['cells'][0]['source'] = ['# Transition layers\n', '\n', '[![Binder](https://mybinder.org/badge_logo.svg)]'
                                '(https://mybinder.org/v2/gh/gone/repo/HEAD?labpath=notebooks%2F02_transition_layers.ipynb)']
    path.write_text(json.dumps(nb))
    nav.update(tiny_set)
    assert nav.cell_source(nav.read_notebook(path)['cells'][0]) == '# Transition layers'


def test_readme_badge_follows_the_address(tiny_set, tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text('# Title\n\n[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/gone/'
                      'repo/HEAD?labpath=notebooks%2F00_index.ipynb)\n\nText.\n')
    drift = nav.update(tiny_set, readme=readme)
    assert any('README.md' in line for line in drift)
    assert readme.read_text() == '# Title\n\nText.\n'
    nav.update(tiny_set, address='https://github.com/owner/name.git', readme=readme)
    assert readme.read_text() == ('# Title\n\n[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org'
                                  '/v2/gh/owner/name/HEAD?labpath=notebooks%2F00_index.ipynb)\n\nText.\n')
    assert nav.update(tiny_set, address='https://github.com/owner/name.git', readme=readme) == []


def test_repository_address_comes_from_pyproject_and_must_be_github(tmp_path):
    pyproject = tmp_path / 'pyproject.toml'
    pyproject.write_text('[project]\nname = "x"\n')
    assert nav.repository(pyproject) is None
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://github.com/owner/name"\n')
    assert nav.repository(pyproject) == 'https://github.com/owner/name'
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://example.org/owner/name"\n')
    with pytest.raises(ValueError, match=r'pyproject.toml: \[project.urls\] Repository .*github.com/OWNER/NAME'):
        nav.repository(pyproject)


def test_the_project_sets_its_address_in_one_place():
    """Only pyproject.toml names the repository's address; the README's badge and the notebooks' links follow it."""
    address = nav.repository()
    readme = nav.README.read_text()
    expected = [nav.binder_url(address, 'notebooks/00_index.ipynb')] if address else []
    assert re.findall(r'\]\((https://mybinder\.org/[^)]*)\)', readme) == expected
