"""The generated parts of the notebooks, kept in place by one script (as in jakevdp's PythonDataScienceHandbook).

``python -m d2l_extras.navigation`` brings every ``notebooks/NN_*.ipynb`` to what the project generates:

* a markdown cell ``< Previous | Contents | Next >`` right after the title cell and another one at the bottom
  (both tagged ``nav``, slide type ``skip``), and, in ``00_index.ipynb``, the cell tagged ``contents``: a list
  of links made from each notebook's first heading;
* the notebook's ``rise`` metadata: ``d2l_extras.slides.RISE``, the same slide settings for every deck;
* ``NN_name.css`` beside each notebook, a stylesheet with nothing but a comment: RISE asks for ``rise.css`` and
  then for ``<notebook>.css`` in the notebook's folder at every slideshow (a missing one is a 404 in the browser's
  console and the server's log); the slide styling of every deck is ``rise.css``;
* the Binder link at the end of the first cell, made from ``[project.urls] Repository`` in ``pyproject.toml``
  (the one place that holds the repository's public address): a text link that opens this notebook on
  Binder, or no link at all while the address is not set. ``README.md``'s Binder badge follows it too.

Running it twice changes nothing; ``--check`` writes nothing and exits 1 when a file has drifted. Nothing
else in a notebook is touched: outputs and execution counts stay as they are. Files are written atomically.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import quote

from . import slides
from .slides import cell_source

NAV_TAG = 'nav'
CONTENTS_TAG = 'contents'
INDEX_NAME = '00_index.ipynb'
NOTEBOOK_PATTERN = '[0-9][0-9]_*.ipynb'
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / 'notebooks'
PYPROJECT = ROOT / 'pyproject.toml'
README = ROOT / 'README.md'
REPOSITORY_KEY = 'Repository'
GITHUB = re.compile(r'https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?')
# Any Binder link or badge that a first cell or the README holds, with the blank lines before it.
BINDER_LINK = re.compile(r'\n*\[(?:!\[[^\]]*\]\([^)]*\)|[^\]]*)\]\(https://mybinder\.org/[^)]*\)[ \t]*')
BADGE_IMAGE = 'https://mybinder.org/badge_logo.svg'
#: Each notebook's own stylesheet, which RISE asks for at every slideshow (jupyterlab-rise 0.43.1 loads
#: ``rise.css`` and then ``<notebook>.css`` from the notebook's folder).
NOTEBOOK_CSS = ('/* RISE loads rise.css and then <notebook>.css from the notebook\'s folder for every slideshow. This file\n'
                '   is here so that RISE finds it: the slide styling of every notebook is rise.css.\n'
                '   Written by `python -m d2l_extras.navigation`. */\n')


def read_notebook(path: Path) -> dict:
    """The notebook as plain JSON (no nbformat upgrade or validation, so nothing changes by reading)."""
    return json.loads(path.read_text(encoding='utf-8'))


def dumps_notebook(nb: dict) -> str:
    """Serialize as nbformat and Jupyter do (sources kept as lists of lines), so diffs stay small."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n'


def has_tag(cell: dict, tag: str) -> bool:
    """Whether the cell carries ``tag`` in ``metadata.tags``."""
    return tag in cell.get('metadata', {}).get('tags', [])


def first_heading(nb: dict) -> str:
    """The text of the notebook's first markdown heading (``# Dense blocks`` -> ``Dense blocks``)."""
    for cell in nb['cells']:
        if cell['cell_type'] == 'markdown' and not has_tag(cell, NAV_TAG):
            match = re.search(r'^#+\s+(.+?)\s*#*\s*$', cell_source(cell), flags=re.MULTILINE)
            if match:
                return match.group(1)
    raise ValueError('notebook has no markdown heading to take its title from')


def notebook_paths(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The numbered notebooks in reading order, the index (``00_index.ipynb``) first."""
    return sorted(directory.glob(NOTEBOOK_PATTERN))


def link(title: str, name: str) -> str:
    """A markdown link whose text cannot break the link syntax."""
    return f"[{title.replace('[', '(').replace(']', ')')}]({name})"


def nav_source(prev: tuple[str, str] | None, nxt: tuple[str, str] | None) -> str:
    """The ``< Previous | Contents | Next >`` line; ``prev``/``nxt`` are (title, file name) or None (then left out)."""
    parts = [f'< {link(*prev)}'] if prev else []
    parts.append(link('Contents', INDEX_NAME))
    parts += [f'{link(*nxt)} >'] if nxt else []
    return ' | '.join(parts)


def nav_cell(source: str, cell_id: str, with_id: bool) -> dict:
    """A markdown navigation cell, tagged ``nav``, hidden from slides."""
    cell = {'cell_type': 'markdown',
            'metadata': {'slideshow': {'slide_type': 'skip'}, 'tags': [NAV_TAG]},
            'source': source.splitlines(keepends=True)}
    if with_id:  # nbformat 4.5 and later require cell ids; fixed ones keep the script idempotent
        cell['id'] = cell_id
    return cell


def contents_source(titles: list[tuple[str, str]]) -> str:
    """The index's contents cell: a heading, then one numbered link per notebook."""
    lines = [f'{i}. {link(title, name)}' for i, (title, name) in enumerate(titles, start=1)]
    return '\n'.join(['## Contents', '', *(lines or ['*(no notebooks yet)*'])])


def with_navigation(nb: dict, prev: tuple[str, str] | None, nxt: tuple[str, str] | None) -> dict:
    """A copy of ``nb`` whose only navigation cells are one after the title cell and one at the end."""
    new = dict(nb)
    cells = [c for c in nb['cells'] if not has_tag(c, NAV_TAG)]
    if not cells:
        raise ValueError('notebook has no cells: it needs at least a title cell')
    with_id = (nb.get('nbformat', 4), nb.get('nbformat_minor', 0)) >= (4, 5)
    source = nav_source(prev, nxt)
    new['cells'] = [cells[0], nav_cell(source, 'nav-top', with_id), *cells[1:],
                    nav_cell(source, 'nav-bottom', with_id)]
    return new


def with_contents(nb: dict, titles: list[tuple[str, str]]) -> dict:
    """A copy of the index whose cell tagged ``contents`` lists ``titles``."""
    matches = [i for i, c in enumerate(nb['cells']) if has_tag(c, CONTENTS_TAG)]
    if len(matches) != 1:
        raise ValueError(f'{INDEX_NAME} needs exactly one cell tagged {CONTENTS_TAG!r}, found {len(matches)}')
    new = dict(nb)
    new['cells'] = list(nb['cells'])
    i = matches[0]
    new['cells'][i] = {**nb['cells'][i], 'source': contents_source(titles).splitlines(keepends=True)}
    return new


def repository(pyproject: Path = PYPROJECT) -> str | None:
    """The public GitHub address in ``[project.urls] Repository`` of ``pyproject``, or None while it is unset."""
    urls = tomllib.loads(pyproject.read_text(encoding='utf-8')).get('project', {}).get('urls', {})
    address = urls.get(REPOSITORY_KEY)
    if address is not None and not GITHUB.fullmatch(address):
        raise ValueError(f'{pyproject}: [project.urls] {REPOSITORY_KEY} = {address!r} is not a GitHub address: '
                         f'write it as "https://github.com/OWNER/NAME" (Binder builds from GitHub), or remove '
                         f'the line while the repository has no public address')
    return address


def binder_url(address: str, path: str) -> str:
    """The Binder address that builds the repository at ``address`` and opens ``path`` (from its root) in Lab."""
    owner, name = GITHUB.fullmatch(address).groups()
    return f'https://mybinder.org/v2/gh/{owner}/{name}/HEAD?labpath={quote(path, safe="")}'


def with_binder_link(nb: dict, name: str, address: str | None) -> dict:
    """A copy of ``nb`` whose first cell ends with the Binder text link of notebook ``name``, or none."""
    first = nb['cells'][0]
    source = BINDER_LINK.sub('', cell_source(first)).rstrip()
    if address:  # a text link: no image that shows broken offline
        source += f'\n\n[Run this notebook on Binder]({binder_url(address, f"notebooks/{name}")})'
    new = dict(nb)
    new['cells'] = [{**first, 'source': source.splitlines(keepends=True)}, *nb['cells'][1:]]
    return new


def with_rise(nb: dict) -> dict:
    """A copy of ``nb`` whose ``rise`` metadata is the project's slide settings, ``slides.RISE``."""
    return {**nb, 'metadata': {**nb.get('metadata', {}), 'rise': dict(slides.RISE)}}


def readme_with_badge(text: str, address: str | None) -> str:
    """``text`` (the README) with one Binder badge under its title line, opening the index, or with none."""
    lines = [line for line in text.split('\n') if not BINDER_LINK.fullmatch(line)]
    lines = [line for i, line in enumerate(lines) if not (i == 2 and line == '' and lines[1] == '')]
    if address:
        url = binder_url(address, f'notebooks/{INDEX_NAME}')
        lines[2:2] = [f'[![Binder]({BADGE_IMAGE})]({url})', '']
    return '\n'.join(lines)


def describe_drift(path: Path, old: dict, new: dict) -> list[str]:
    """One line per cell (or metadata) that differs between ``old`` and ``new``, for ``--check``."""
    old_cells, new_cells = old['cells'], new['cells']
    drift = []
    if old.get('metadata', {}).get('rise') != new['metadata']['rise']:
        drift.append(f'{path.name}: metadata.rise is {old.get("metadata", {}).get("rise")}, '
                     f'expected {new["metadata"]["rise"]}')
    if len(old_cells) != len(new_cells):
        return drift + [f'{path.name}: {len(old_cells)} cells, expected {len(new_cells)} '
                        f'(navigation cells missing or extra)']
    for i, (o, n) in enumerate(zip(old_cells, new_cells)):
        if o != n:
            what = 'navigation' if has_tag(n, NAV_TAG) else 'contents' if has_tag(n, CONTENTS_TAG) else 'Binder link'
            drift.append(f'{path.name}: cell {i} ({what}) is {cell_source(o)!r}, expected {cell_source(n)!r}')
    return drift


def update(directory: Path = NOTEBOOKS_DIR, check: bool = False, address: str | None = None,
           readme: Path | None = None) -> list[str]:
    """Bring every notebook's generated parts (and ``readme``'s badge) up to date; return what drifted.

    ``address`` is the repository's public GitHub address (None: no Binder links). With ``check=True``
    nothing is written.
    """
    paths = notebook_paths(directory)
    if not paths or paths[0].name != INDEX_NAME:
        raise ValueError(f'{directory} must hold {INDEX_NAME} and the numbered notebooks')
    notebooks = [read_notebook(p) for p in paths]
    titles = [(first_heading(nb), p.name) for p, nb in zip(paths, notebooks)]
    drift = []
    for i, (path, nb) in enumerate(zip(paths, notebooks)):
        new = with_navigation(nb, titles[i - 1] if i > 0 else None,
                              titles[i + 1] if i + 1 < len(titles) else None)
        if path.name == INDEX_NAME:
            new = with_contents(new, titles[1:])
        new = with_rise(with_binder_link(new, path.name, address))
        if new != nb:
            drift += describe_drift(path, nb, new)
            if not check:
                slides.write_atomically(path, dumps_notebook(new))
        css = path.with_suffix('.css')
        if not css.is_file() or css.read_text(encoding='utf-8') != NOTEBOOK_CSS:
            drift.append(f'{css.name}: {"differs from" if css.is_file() else "missing, expected"} the stylesheet '
                         'RISE asks for (a comment only)')
            if not check:
                slides.write_atomically(css, NOTEBOOK_CSS)
    if readme is not None:
        text = readme.read_text(encoding='utf-8')
        new_text = readme_with_badge(text, address)
        if new_text != text:
            drift.append(f'{readme.name}: the Binder badge does not match [project.urls] {REPOSITORY_KEY} '
                         f'({address or "unset: no badge"})')
            if not check:
                slides.write_atomically(readme, new_text)
    return drift


def main(argv: list[str] | None = None) -> int:
    """Command line: write the navigation, or with ``--check`` report drift and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='write nothing; exit 1 if a notebook drifted')
    parser.add_argument('--dir', type=Path, default=NOTEBOOKS_DIR, help='folder of the notebooks')
    parser.add_argument('--pyproject', type=Path, default=PYPROJECT,
                        help='where [project.urls] Repository sets the public address (for the Binder links)')
    parser.add_argument('--readme', type=Path, default=None,
                        help='README whose Binder badge to keep (default: the project\'s, with the default --dir)')
    args = parser.parse_args(argv)
    readme = args.readme or (README if args.dir == NOTEBOOKS_DIR else None)
    drift = update(args.dir, check=args.check, address=repository(args.pyproject), readme=readme)
    for line in drift:
        print(('drift: ' if args.check else 'updated: ') + line)
    if args.check and drift:
        print('Run `python -m d2l_extras.navigation` to update them.')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
