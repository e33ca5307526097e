"""Navigation between the notebooks, kept in place by a script, as in jakevdp's PythonDataScienceHandbook.

``python -m d2l_extras.navigation`` writes, into every ``notebooks/NN_*.ipynb``, a markdown cell
``< Previous | Contents | Next >`` right after the title cell and another one at the bottom (both tagged
``nav``, slide type ``skip``), and fills the cell of ``00_index.ipynb`` tagged ``contents`` with a list of
links made from each notebook's first heading. Running it twice changes nothing; ``--check`` writes
nothing and exits 1 when a notebook has drifted. Nothing else in a notebook is touched: outputs and
execution counts stay as they are.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

NAV_TAG = 'nav'
CONTENTS_TAG = 'contents'
INDEX_NAME = '00_index.ipynb'
NOTEBOOK_PATTERN = '[0-9][0-9]_*.ipynb'
NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / 'notebooks'


def read_notebook(path: Path) -> dict:
    """The notebook as plain JSON (no nbformat upgrade or validation, so nothing changes by reading)."""
    return json.loads(path.read_text(encoding='utf-8'))


def dumps_notebook(nb: dict) -> str:
    """Serialize as nbformat and Jupyter do (sources kept as lists of lines), so diffs stay small."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + '\n'


def cell_source(cell: dict) -> str:
    """A cell's source as one string (notebooks store it as a string or a list of lines)."""
    source = cell.get('source', '')
    return ''.join(source) if isinstance(source, list) else source


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
    """The ``< Previous | Contents | Next >`` line; ``prev``/``nxt`` are (title, file name) or None."""
    parts = [f'< {link(*prev)}' if prev else '<',
             link('Contents', INDEX_NAME),
             f'{link(*nxt)} >' if nxt else '>']
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


def describe_drift(path: Path, old: dict, new: dict) -> list[str]:
    """One line per cell that differs between ``old`` and ``new``, for ``--check``."""
    old_cells, new_cells = old['cells'], new['cells']
    if len(old_cells) != len(new_cells):
        return [f'{path.name}: {len(old_cells)} cells, expected {len(new_cells)} '
                f'(navigation cells missing or extra)']
    return [f'{path.name}: cell {i} ({"navigation" if has_tag(n, NAV_TAG) else "contents"}) '
            f'is {cell_source(o)!r}, expected {cell_source(n)!r}'
            for i, (o, n) in enumerate(zip(old_cells, new_cells)) if o != n]


def update(directory: Path = NOTEBOOKS_DIR, check: bool = False) -> list[str]:
    """Bring every notebook's navigation (and the index's contents) up to date; return what drifted.

    With ``check=True`` nothing is written.
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
        if new != nb:
            drift += describe_drift(path, nb, new)
            if not check:
                path.write_text(dumps_notebook(new), encoding='utf-8')
    return drift


def main(argv: list[str] | None = None) -> int:
    """Command line: write the navigation, or with ``--check`` report drift and exit 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='write nothing; exit 1 if a notebook drifted')
    parser.add_argument('--dir', type=Path, default=NOTEBOOKS_DIR, help='folder of the notebooks')
    args = parser.parse_args(argv)
    drift = update(args.dir, check=args.check)
    for line in drift:
        print(('drift: ' if args.check else 'updated: ') + line)
    if args.check and drift:
        print('Run `python -m d2l_extras.navigation` to update the notebooks.')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
