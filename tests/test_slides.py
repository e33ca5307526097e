"""RISE slide structure of every notebook, the deck's page order, and the offline static decks."""
import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from d2l_extras import slides

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / 'notebooks').glob('[0-9][0-9]_*.ipynb'))
# The 2019 d2l deck's pages, in its order, and the notebook that mirrors each (its `# Title` names the page).
DECK = [('01_dense_blocks.ipynb', r'dense block'),
        ('02_transition_layers.ipynb', r'transition layer'),
        ('03_densenet_model.ipynb', r'densenet model'),
        ('04_training.ipynb', r'data acquisition|training'),
        ('05_beyond_the_deck.ipynb', r'beyond the deck')]


def load(path):
    return json.loads(path.read_text())


def typed(cell, slide_type):
    cell.metadata['slideshow'] = {'slide_type': slide_type}
    return cell


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_has_a_slide_type(path):
    untyped = [i for i, c in enumerate(load(path)['cells']) if slides.slide_type(c) not in slides.SLIDE_TYPES]
    assert not untyped, f'{path.name}: cells {untyped} lack metadata.slideshow.slide_type'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_deck_opens_on_the_title_and_has_rise_settings(path):
    nb = load(path)
    first = nb['cells'][0]
    assert slides.slide_type(first) == 'slide' and ''.join(first['source']).startswith('# ')
    assert nb['metadata'].get('rise') == slides.RISE, \
        f'{path.name}: rise metadata {nb["metadata"].get("rise")}: run `python -m d2l_extras.navigation`'
    assert slides.deck_sections(nb)[0] >= 2, f'{path.name}: a deck of one slide'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_every_slide_has_a_title(path):
    for i, cell in enumerate(load(path)['cells']):
        if slides.slide_type(cell) == 'slide':
            source = ''.join(cell['source'])
            assert cell['cell_type'] == 'markdown' and re.search(r'^#+ \S', source, re.MULTILINE), \
                f'{path.name}: cell {i} opens a slide without a heading: {source[:60]!r}'


def test_notebooks_follow_the_deck_page_by_page():
    """Each lesson notebook is named and titled after a page of the deck, in the deck's order."""
    present = [p.name for p in NOTEBOOKS if p.name != '00_index.ipynb']
    expected = [name for name, _ in DECK]
    assert present == expected[:len(present)], f'notebooks {present}, deck order {expected}'
    flat = []  # every slide title of the set, in reading order
    for name in present:
        flat += slides.slide_titles(load(ROOT / 'notebooks' / name))
    positions = []
    for name, pattern in DECK[:len(present)]:
        title = slides.slide_titles(load(ROOT / 'notebooks' / name))[0]
        assert re.search(pattern, title, re.IGNORECASE), f'{name} is titled {title!r}, not the deck page /{pattern}/'
        positions.append(next(i for i, t in enumerate(flat) if re.search(pattern, t, re.IGNORECASE)))
    assert positions == sorted(positions), f'deck pages out of order in the slide titles: {flat}'


def test_slide_titles_and_sections_count_what_reveal_shows():
    nb = {'cells': [typed(new_markdown_cell('< nav >'), 'skip'),
                    typed(new_markdown_cell('# Dense blocks\n*text*'), '-'),   # first shown cell opens a slide
                    typed(new_code_cell('x = 1'), '-'),
                    typed(new_markdown_cell('## Channels'), 'subslide'),
                    typed(new_markdown_cell('Say this aloud.'), 'notes'),
                    typed(new_markdown_cell('Intro\n## Explorer'), 'slide'),
                    typed(new_code_cell('explore()'), 'fragment')]}
    assert slides.slide_titles(nb) == ['Explorer']
    assert slides.deck_sections(nb) == (2, 3)
    with pytest.raises(ValueError, match='nothing to show'):
        slides.deck_sections({'cells': [typed(new_markdown_cell('# x'), 'skip')]})


def test_rise_settings_work_offline_and_keep_sliders_draggable():
    """No theme that loads web fonts, no chalkboard (its images are missing), top-aligned slides."""
    offline_themes = {'white', 'black', 'serif'}  # reveal.js themes whose fonts ship with it, or need none
    assert slides.RISE['theme'] in offline_themes and slides.RISE['enable_chalkboard'] is False
    assert slides.RISE['center'] is False and slides.RISE['scroll'] is True


def test_rise_css_sits_next_to_the_notebooks_and_styles_only_the_slides():
    css = (ROOT / 'notebooks' / slides.CSS_NAME).read_text()
    rules = [r.split('{')[0].strip() for r in re.sub(r'/\*.*?\*/', '', css, flags=re.S).split('}') if '{' in r]
    assert rules and all('.reveal' in selector for rule in rules for selector in rule.split(',')), rules
    assert '--jp-content-font-size1' in css and 'word-break: normal' in css


def test_deck_outline_numbers_slides_subslides_and_fragments_as_reveal_does():
    nb = {'cells': [typed(new_markdown_cell('< nav >'), 'skip'),
                    typed(new_markdown_cell('# Dense blocks\n*text*'), 'fragment'),  # first shown: opens slide 0
                    typed(new_code_cell('x = 1'), '-'),
                    typed(new_markdown_cell('Say this aloud.'), 'notes'),
                    typed(new_markdown_cell('## Channels'), 'subslide'),
                    typed(new_code_cell('table()'), 'fragment'),
                    typed(new_markdown_cell('More.'), 'subslide'),
                    typed(new_markdown_cell('## Explorer'), 'slide'),
                    typed(new_code_cell('explore()', metadata={'tags': ['scroll']}), 'subslide')]}
    outline = [(s['h'], s['v'], s['title'], s['fragments'], s['scroll'], s['cells']) for s in slides.deck_outline(nb)]
    assert outline == [(0, 0, 'Dense blocks', 0, False, [1, 2]),
                       (0, 1, 'Channels', 1, False, [4, 5]),
                       (0, 2, 'Dense blocks', 0, False, [6]),   # untitled: its slide's title
                       (1, 0, 'Explorer', 0, False, [7]),
                       (1, 1, 'Explorer', 0, True, [8])]        # tagged `scroll`
    assert len(outline) == slides.deck_sections(nb)[1]  # every (sub)slide, as deck_sections counts them


def test_write_atomically_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / 'deck.html'
    slides.write_atomically(target, 'old')
    with pytest.raises(TypeError):
        slides.write_atomically(target, object())  # not text or bytes: fails half-way
    assert target.read_text() == 'old' and [p.name for p in tmp_path.iterdir()] == ['deck.html']


def test_js_urls_name_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match='reveal.js.*make slides'):
        slides.js_urls(tmp_path / 'js', tmp_path / 'out')


def test_json_for_decks_hides_cdn_letters_but_keeps_the_data():
    state = {'image/png': 'iVBORcdnxUNPKGy', 'cdn': ['unpkg', 1]}
    text = slides.json_dumps_offline(state)
    assert not re.search(r'cdn|unpkg', text, re.IGNORECASE)
    assert json.loads(text) == state


@pytest.fixture(scope='module')
def index_deck(tmp_path_factory):
    """The index exported as an offline deck (needs build/js from `make js`, which `make test` runs)."""
    js = ROOT / 'build' / 'js'
    if not (js / '.installed').exists():
        reason = 'build/js is missing: `make js` unpacks reveal.js, MathJax & co. from the npm registry'
        if os.environ.get('CI') == 'true':
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp('slides') / 'decks'
    return slides.export_deck(ROOT / 'notebooks' / '00_index.ipynb', out, js)


def test_static_deck_references_no_cdn_and_only_files_that_exist(index_deck):
    html = index_deck.read_text()
    assert not re.search(r'cdn|unpkg', html, re.IGNORECASE)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r'"(\.\./[^"]+\.js)"', html)
    local = [u for u in urls if not urlparse(u).scheme and not u.startswith('#') and u.endswith(('.js', '.css'))
             or 'MathJax.js?' in u]
    assert len(local) >= 6  # jQuery, require.js, reveal.css, theme, MathJax, reveal.js, notes plugin
    for url in local:
        assert (index_deck.parent / urlparse(url).path).is_file(), url
    assert not [u for u in urls if urlparse(u).scheme in ('http', 'https') and 'mybinder' not in u]


def test_static_deck_has_one_section_per_slide(index_deck):
    html = index_deck.read_text()
    nb = load(ROOT / 'notebooks' / '00_index.ipynb')
    # reveal.js: <section> per slide, each holding a <section> per subslide
    assert html.count('<section') == sum(slides.deck_sections(nb))
    assert f'<title>{slides.slide_titles(nb)[0]} slides</title>' in html
    assert f'theme/{nb["metadata"]["rise"]["theme"]}.css' in html  # the notebook's RISE theme
    assert (ROOT / 'notebooks' / slides.CSS_NAME).read_text() in html  # RISE's slide styling, inlined
    assert f'width: {slides.SCREEN[0]},' in html and f'height: {slides.SCREEN[1]},' in html
