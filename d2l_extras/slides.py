"""Slides: what RISE shows of a notebook, and static reveal.js decks that work with no network.

``python -m d2l_extras.slides`` (what ``make slides`` runs) writes ``slides/NN_name.slides.html`` for
every notebook. nbconvert's decks load reveal.js, require.js, jQuery and MathJax from CDNs; here they
come from local copies that ``make slides`` unpacks from the npm registry into ``build/js/``, so a deck
renders in a lecture hall without Wi-Fi. The deck takes its theme and transition from the notebook's
``rise`` metadata, as RISE does, and the slide styling from ``notebooks/rise.css``, which RISE loads too.

``RISE`` is what every notebook's ``rise`` metadata holds (``python -m d2l_extras.navigation`` writes it);
``REVEAL_OPTIONS`` are the reveal.js options that RISE does not pass on (the decks and ``d2l_extras.rise_server``
add them); ``deck_outline`` lists a notebook's slides as RISE and reveal.js number them, for the slide tests.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLIDE_TYPES = ('slide', 'subslide', 'fragment', 'notes', 'skip', '-')
#: Every notebook's ``rise`` metadata: the settings RISE (jupyterlab-rise 0.43.1) passes to reveal.js.
RISE = {
    'theme': 'white',            # its font ships with reveal.js; 'simple' and most others load web fonts (offline: none)
    'transition': 'none',
    'center': False,             # slides start at the top: when outputs grow, a click no longer re-centres the slide
                                 # under the mouse (which stopped every slider drag that began on a slide that grew)
    'scroll': True,              # a (sub)slide taller than the screen scrolls instead of being cut
    'enable_chalkboard': False,  # its pen and board images are missing from jupyterlab-rise's bundle (404)
}
#: reveal.js options that RISE never takes from the ``rise`` metadata (jupyterlab-rise 0.43.1 passes reveal.js a fixed
#: list of them): with ``linear`` navigation, -> and PageDown (what a presentation clicker sends) step through every
#: slide, subslide and fragment in order; reveal.js's default -> jumps from slide to slide, past the subslides.
#: The static decks set them when they start; RISE reads them from the slideshow's address (``d2l_extras.rise_server``).
REVEAL_OPTIONS = {'navigationMode': 'linear'}
#: Cell tag that allows a (sub)slide to be taller than the screen (it scrolls); the slide-fit test skips its height.
SCROLL_TAG = 'scroll'
#: The screen every slide must fit: a 720p projector.
SCREEN = (1280, 720)
#: The slide styling that RISE loads from next to the notebooks and the static decks inline.
CSS_NAME = 'rise.css'
#: Where each library sits inside ``build/js`` (as ``make slides`` unpacks the npm packages).
JS_FILES = {'reveal': 'reveal.js',
            'require': 'requirejs/require.js',
            'jquery': 'jquery/dist/jquery.min.js',
            'mathjax': 'mathjax/MathJax.js',
            'widgets': 'html-manager/dist/embed-amd.js'}
CDN_PATTERN = re.compile(r'cdn|unpkg', re.IGNORECASE)
# nbconvert's reveal template imports mermaid.js from a CDN on every page; these notebooks draw no
# mermaid diagrams, so the offline template leaves that block out. It adds the slide styling of
# notebooks/rise.css (resources['slide_css']) after nbconvert's own.
# After nbconvert's own start of reveal.js, the template sets the options nbconvert has no setting for
# (resources['reveal_config']: REVEAL_OPTIONS and the notebook's ``center``).
OFFLINE_TEMPLATE = ("{%- extends 'index.html.j2' -%}\n"
                    "{% block html_head_js_mermaidjs %}{% endblock html_head_js_mermaidjs %}\n"
                    "{% block html_head_css %}<style type=\"text/css\">\n{{ resources.slide_css }}\n</style>\n"
                    "{% endblock html_head_css %}\n"
                    "{% block footer_js %}{{ super() }}\n"
                    "<script>require(['{{ reveal_url_prefix }}/dist/reveal.js'], function (Reveal) {\n"
                    "  Reveal.configure({{ resources.reveal_config }});\n"
                    "});</script>\n"
                    "{% endblock footer_js %}\n")


def slide_type(cell: dict) -> str | None:
    """The cell's RISE slide type, or None when the cell has none."""
    return cell.get('metadata', {}).get('slideshow', {}).get('slide_type')


def slide_titles(nb: dict) -> list[str]:
    """The titles of the notebook's slides: the first heading of each cell that starts a slide."""
    titles = []
    for cell in nb['cells']:
        if slide_type(cell) == 'slide' and cell['cell_type'] == 'markdown':
            source = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
            match = re.search(r'^#+\s+(.+?)\s*$', source, flags=re.MULTILINE)
            if match:
                titles.append(match.group(1))
    return titles


def deck_sections(nb: dict) -> tuple[int, int]:
    """How many horizontal slides and how many slides in all (with subslides) a deck of ``nb`` has.

    As reveal.js and RISE count them: the first shown cell always opens a slide.
    """
    shown = [slide_type(c) or '-' for c in nb['cells'] if (slide_type(c) or '-') not in ('skip', 'notes')]
    if not shown:
        raise ValueError('every cell is skip or notes: there is nothing to show')
    shown[0] = 'slide'
    slides = shown.count('slide')
    return slides, slides + shown.count('subslide')


def cell_source(cell: dict) -> str:
    """A cell's source as one string (notebooks store it as a string or a list of lines)."""
    source = cell.get('source', '')
    return ''.join(source) if isinstance(source, list) else source


def deck_outline(nb: dict) -> list[dict]:
    """Every (sub)slide of the deck, in order, as RISE and nbconvert build it.

    Each entry: ``h`` and ``v`` (reveal.js indices, from 0), ``title`` (its first heading, else its slide's,
    else the deck's), ``fragments`` (fragment steps after the first view),
    ``scroll`` (a cell on it is tagged ``scroll``) and ``cells`` (indices in ``nb['cells']``).
    """
    outline: list[dict] = []
    for i, cell in enumerate(nb['cells']):
        kind = slide_type(cell) or '-'
        if kind in ('skip', 'notes'):
            continue
        if not outline or kind == 'slide':  # the first shown cell opens a slide, whatever its type
            h = outline[-1]['h'] + 1 if outline else 0
            outline.append({'h': h, 'v': 0, 'title': '', 'fragments': 0, 'scroll': False, 'cells': []})
        elif kind == 'subslide':
            outline.append({'h': outline[-1]['h'], 'v': outline[-1]['v'] + 1, 'title': '', 'fragments': 0,
                            'scroll': False, 'cells': []})
        elif kind == 'fragment':
            outline[-1]['fragments'] += 1
        current = outline[-1]
        current['cells'].append(i)
        current['scroll'] = current['scroll'] or SCROLL_TAG in cell.get('metadata', {}).get('tags', [])
        heading = re.search(r'^#+\s+(.+?)\s*#*\s*$', cell_source(cell), flags=re.MULTILINE)
        if heading and cell['cell_type'] == 'markdown' and not current['title']:
            current['title'] = heading.group(1)
    if not outline:
        raise ValueError('every cell is skip or notes: there is nothing to show')
    titles = {entry['h']: entry['title'] for entry in outline if entry['v'] == 0}
    for entry in outline:  # an untitled subslide goes by its slide's title, an untitled slide by the deck's
        entry['title'] = entry['title'] or titles[entry['h']] or titles[0]
    return outline


#: Horizontal slides that frame a lecture rather than teach it: not counted as lecture slides.
FRAME_TITLES = ('Summary', 'Exercises')
#: Cell metadata key of a "Going further" cell: its slide type in the second session's deck.
FURTHER_KEY = 'further'


def lecture_slides(nb: dict) -> list[dict]:
    """The (sub)slides of the RISE deck that teach: all but the title slide and the Summary and Exercises
    slides with their subslides (``deck_outline`` entries)."""
    outline = deck_outline(nb)
    frame = {e['h'] for e in outline if e['v'] == 0 and (e['h'] == 0 or e['title'] in FRAME_TITLES)}
    return [e for e in outline if e['h'] not in frame]


def further_notebook(nb: dict) -> dict | None:
    """The second session's deck of ``nb``: its title cell, then the "Going further" cells with the slide types
    stored under ``metadata.further``; None when the notebook has none."""
    import copy
    if not any(FURTHER_KEY in c.get('metadata', {}) for c in nb['cells']):
        return None
    new = copy.deepcopy({key: value for key, value in nb.items() if key != 'cells'})
    new['cells'] = []
    for i, cell in enumerate(nb['cells']):
        kind = cell.get('metadata', {}).get(FURTHER_KEY, {}).get('slide_type')
        if i > 0 and kind is None:
            continue
        cell = copy.deepcopy(cell)          # only the cells the deck keeps
        cell['metadata']['slideshow'] = {'slide_type': kind or 'slide'}
        new['cells'].append(cell)
    return new


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``path`` whole or not at all: a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.encode('utf-8') if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def js_urls(js_dir: Path, out_dir: Path) -> dict[str, str]:
    """The library URLs relative to the deck's folder, so ``slides/`` and ``build/js/`` can move together."""
    missing = [name for name in JS_FILES.values() if not (js_dir / name).exists()]
    if missing:
        raise FileNotFoundError(f'{js_dir} lacks {", ".join(missing)}: run `make slides`, which unpacks '
                                f'them from the npm registry')
    return {key: Path(os.path.relpath(js_dir / name, out_dir)).as_posix() for key, name in JS_FILES.items()}


def json_dumps_offline(obj: object, **kwargs) -> str:
    """nbconvert's ``json_dumps`` filter, with ``cdn``/``unpkg`` inside strings written as ``\\u0063dn``.

    The widget state that a deck embeds holds base64 images, where those letters turn up by chance; a
    JSON escape keeps the data the same and lets ``grep cdn`` prove the deck needs no CDN.
    """
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    return re.sub(r'c(?=dn)|u(?=npkg)', lambda m: f'\\u{ord(m.group(0)):04x}', text, flags=re.IGNORECASE)


def export_deck(notebook: Path, out_dir: Path, js_dir: Path, further: bool = False) -> Path:
    """Write ``out_dir/<notebook>.slides.html`` with every library loaded from ``js_dir``; return its path.

    ``further=True`` writes the second session's deck, ``<notebook>.further.slides.html``: the title slide and
    the notebook's "Going further" sections (``further_notebook``).
    """
    import nbformat  # nbconvert is slow to import: only a deck build pays for it
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter
    from nbconvert.preprocessors import ExtractOutputPreprocessor
    from traitlets.config import Config

    nb = nbformat.read(notebook, as_version=4)
    stem = notebook.stem
    if further:
        nb, stem = nbformat.from_dict(further_notebook(nb)), f'{stem}.further'
    rise = nb.metadata.get('rise', {})
    titles = slide_titles(nb)
    if titles and 'title' not in nb.metadata:
        nb.metadata['title'] = titles[0]  # the browser tab shows the deck's title, not its file name
    urls = js_urls(js_dir, out_dir)
    config = Config()
    config.SlidesExporter.reveal_url_prefix = urls['reveal']
    config.SlidesExporter.require_js_url = urls['require']
    config.SlidesExporter.jquery_url = urls['jquery']
    config.SlidesExporter.mathjax_url = urls['mathjax'] + '?config=TeX-AMS_CHTML-full,Safe'
    config.SlidesExporter.widget_renderer_url = urls['widgets']
    config.SlidesExporter.reveal_theme = rise.get('theme', 'simple')
    config.SlidesExporter.reveal_transition = rise.get('transition', 'none')
    config.SlidesExporter.reveal_scroll = bool(rise.get('scroll', True))
    config.SlidesExporter.reveal_width, config.SlidesExporter.reveal_height = (str(n) for n in SCREEN)
    exporter = SlidesExporter(config=config, extra_loaders=[DictLoader({'offline.html.j2': OFFLINE_TEMPLATE})],
                              template_file='offline.html.j2')
    exporter.register_filter('json_dumps', json_dumps_offline)
    # Plots become files next to the deck instead of base64 in it: a smaller page, and no chance letters.
    exporter.register_preprocessor(ExtractOutputPreprocessor(), enabled=True)
    files_dir = f'{stem}_files'
    css = notebook.parent / CSS_NAME
    html, resources = exporter.from_notebook_node(nb, resources={
        'metadata': {'name': stem, 'path': str(notebook.parent)},
        'unique_key': stem, 'output_files_dir': files_dir,
        'slide_css': css.read_text(encoding='utf-8') if css.exists() else '',
        'reveal_config': json.dumps({**REVEAL_OPTIONS, 'center': bool(rise.get('center', True))})})
    # The template's own comment about loading "reveal from a cdn" goes too, so a grep finds no CDN at all.
    html = re.sub(r'^[ \t]*//.*\bcdn\b.*\n', '', html, flags=re.MULTILINE | re.IGNORECASE)
    found = sorted(set(m.group(0).lower() for m in CDN_PATTERN.finditer(html)))
    if found:
        raise RuntimeError(f'{notebook.name}: the deck still references {found}; it would not work offline')
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / files_dir, ignore_errors=True)
    for name, data in resources.get('outputs', {}).items():
        write_atomically(out_dir / name, data)
    target = out_dir / (stem + '.slides.html')
    write_atomically(target, html)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: build the offline decks of the given notebooks (all of ``notebooks/`` by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('notebooks', nargs='*', type=Path,
                        default=sorted((ROOT / 'notebooks').glob('[0-9][0-9]_*.ipynb')))
    parser.add_argument('--out', type=Path, default=ROOT / 'slides', help='folder for the decks')
    parser.add_argument('--js', type=Path, default=ROOT / 'build' / 'js', help='folder of the JS libraries')
    args = parser.parse_args(argv)
    for notebook in args.notebooks:
        nb = json.loads(notebook.read_text())
        for further, deck in ((False, nb), (True, further_notebook(nb))):
            if deck is not None:
                target = export_deck(notebook, args.out, args.js, further=further)
                print(f'{target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}: '
                      f'{deck_sections(deck)[0]} slides')
    return 0


if __name__ == '__main__':
    sys.exit(main())
