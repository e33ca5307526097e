"""Figures show as images, never as ``<Figure size 900x240 with 2 Axes>``: in a fresh kernel, in the committed
notebooks (their outputs and the saved state of the explorers' outputs) and in the static decks.

The browser tests look at the same in JupyterLab and RISE (``test_browser.py``, ``test_slidefit.py``).
"""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from d2l_extras import slides

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / 'notebooks').glob('[0-9][0-9]_*.ipynb'))
FIGURE_TEXT = re.compile(r'<Figure size \d+x\d+ with \d+ Axes>')
IMAGES = ('image/png', 'image/jpeg', 'image/svg+xml')
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'


def shown_as_text(output: dict) -> bool:
    """Whether a notebook output shows a figure as its text (a figure output without any image)."""
    data = output.get('data', {})
    text = ''.join(data.get('text/plain', '')) + ''.join(output.get('text', ''))
    return bool(FIGURE_TEXT.search(text)) and not any(kind in data for kind in IMAGES)


def outputs(nb: dict):
    """(where, output) for every output a reader can see: the cells', and those the explorers' saved widget state
    holds (what the static decks and JupyterLab draw for an explorer until it runs again)."""
    for i, cell in enumerate(nb['cells']):
        for output in cell.get('outputs', []):
            yield f'cell {i}', output
    state = nb.get('metadata', {}).get('widgets', {}).get(WIDGET_STATE, {}).get('state', {})
    for model_id, model in state.items():
        for output in model.get('state', {}).get('outputs', None) or []:
            yield f'the saved output widget {model_id[:8]}', output


def test_a_fresh_kernel_shows_every_kind_of_figure_as_an_image():
    """check_environment() first, then each way the notebooks show a figure: a Figure made without pyplot as a
    cell's value, an explorer's Report, the first pyplot figure, and the live plot with its updates."""
    cells = ['from d2l_extras import check_environment\ncheck_environment()',
             'from d2l_extras.explore import resnet_vs_densenet_figure\nresnet_vs_densenet_figure()',
             'from d2l_extras.explore import explore_dense_block\nexplore_dense_block()',
             'import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\n_ = ax.plot([1, 2])',
             'from d2l_extras.liveplot import LivePlot\nplot = LivePlot(2, title="tiny")\n'
             'plot.add(0.5, train_loss=1.0, train_acc=0.5)\nplot.add(1, test_acc=0.6)']
    nb = new_notebook(cells=[new_code_cell(source) for source in cells],
                      metadata={'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}})
    NotebookClient(nb, timeout=300, kernel_name='python3').execute()
    for cell in nb.cells[1:]:
        figures = [o for o in cell.outputs if any(k in o.get('data', {}) for k in IMAGES) or shown_as_text(o)]
        assert figures, f'no figure at all from {cell.source!r}: {cell.outputs}'
        assert not [o for o in figures if shown_as_text(o)], f'{cell.source!r} shows a figure as text: {figures}'
    live = nb.cells[-1].outputs
    assert len(live) == 1 and live[0]['output_type'] == 'display_data', live  # updated in place, one image


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_show_no_figure_as_text(path):
    nb = json.loads(path.read_text(encoding='utf-8'))
    found = [f'{where}: {"".join(o.get("data", {}).get("text/plain", ""))[:60]!r}'
             for where, o in outputs(nb) if shown_as_text(o)]
    assert not found, (f'{path.name} shows figures as text (re-run it: check_environment() shows figures as '
                       f'images): {found}')


class VisibleText(HTMLParser):
    """The text of an HTML page outside <script> and <style>: what the page can show."""

    def __init__(self):
        super().__init__()
        self.skip, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ('script', 'style')

    def handle_endtag(self, tag):
        self.skip -= tag in ('script', 'style') and self.skip > 0

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


@pytest.fixture(scope='module')
def decks(tmp_path_factory):
    """Every notebook as a static deck (needs build/js from `make js`, which `make test` runs)."""
    js = ROOT / 'build' / 'js'
    if not (js / '.installed').exists():
        from test_browser import unavailable
        unavailable('build/js is missing: `make js` unpacks reveal.js, MathJax & co. from the npm registry')
    out = tmp_path_factory.mktemp('decks')
    return {path.stem: slides.export_deck(path, out, js) for path in NOTEBOOKS}


@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.stem)
def test_static_decks_show_no_figure_as_text(decks, path):
    parser = VisibleText()
    parser.feed(decks[path.stem].read_text(encoding='utf-8'))
    found = FIGURE_TEXT.findall(' '.join(parser.parts))
    assert not found, f'the static deck of {path.name} shows figures as text: {found}'
