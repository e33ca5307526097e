"""Slides: what RISE shows of a notebook, and static reveal.js decks that work with no network.

``python -m d2l_extras.slides`` (what ``make slides`` runs) writes ``slides/NN_name.slides.html`` for
every notebook. nbconvert's decks load reveal.js, require.js, jQuery and MathJax from CDNs; here they
come from local copies that ``make slides`` unpacks from the npm registry into ``build/js/``, so a deck
renders in a lecture hall without Wi-Fi. The deck takes its theme and transition from the notebook's
``rise`` metadata, as RISE does.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLIDE_TYPES = ('slide', 'subslide', 'fragment', 'notes', 'skip', '-')
#: Where each library sits inside ``build/js`` (as ``make slides`` unpacks the npm packages).
JS_FILES = {'reveal': 'reveal.js',
            'require': 'requirejs/require.js',
            'jquery': 'jquery/dist/jquery.min.js',
            'mathjax': 'mathjax/MathJax.js',
            'widgets': 'html-manager/dist/embed-amd.js'}
CDN_PATTERN = re.compile(r'cdn|unpkg', re.IGNORECASE)
# nbconvert's reveal template imports mermaid.js from a CDN on every page; these notebooks draw no
# mermaid diagrams, so the offline template leaves that block out.
OFFLINE_TEMPLATE = ("{%- extends 'index.html.j2' -%}\n"
                    "{% block html_head_js_mermaidjs %}{% endblock html_head_js_mermaidjs %}\n")


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


def export_deck(notebook: Path, out_dir: Path, js_dir: Path) -> Path:
    """Write ``out_dir/<notebook>.slides.html`` with every library loaded from ``js_dir``; return its path."""
    import nbformat  # nbconvert is slow to import: only a deck build pays for it
    from jinja2 import DictLoader
    from nbconvert import SlidesExporter
    from nbconvert.preprocessors import ExtractOutputPreprocessor
    from traitlets.config import Config

    nb = nbformat.read(notebook, as_version=4)
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
    exporter = SlidesExporter(config=config, extra_loaders=[DictLoader({'offline.html.j2': OFFLINE_TEMPLATE})],
                              template_file='offline.html.j2')
    exporter.register_filter('json_dumps', json_dumps_offline)
    # Plots become files next to the deck instead of base64 in it: a smaller page, and no chance letters.
    exporter.register_preprocessor(ExtractOutputPreprocessor(), enabled=True)
    files_dir = f'{notebook.stem}_files'
    html, resources = exporter.from_notebook_node(nb, resources={
        'metadata': {'name': notebook.stem, 'path': str(notebook.parent)},
        'unique_key': notebook.stem, 'output_files_dir': files_dir})
    # The template's own comment about loading "reveal from a cdn" goes too, so a grep finds no CDN at all.
    html = re.sub(r'^[ \t]*//.*\bcdn\b.*\n', '', html, flags=re.MULTILINE | re.IGNORECASE)
    found = sorted(set(m.group(0).lower() for m in CDN_PATTERN.finditer(html)))
    if found:
        raise RuntimeError(f'{notebook.name}: the deck still references {found}; it would not work offline')
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out_dir / files_dir, ignore_errors=True)
    for name, data in resources.get('outputs', {}).items():
        (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / name).write_bytes(data)
    target = out_dir / (notebook.stem + '.slides.html')
    target.write_text(html, encoding='utf-8')
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
        target = export_deck(notebook, args.out, args.js)
        print(f'{target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target}: '
              f'{deck_sections(json.loads(notebook.read_text()))[0]} slides')
    return 0


if __name__ == '__main__':
    sys.exit(main())
