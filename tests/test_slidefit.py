"""Every slide fits a 1280x720 projector, in RISE and in the static decks: nothing taller or wider than the screen.

It runs with `make test`; on its own:

    .venv/bin/python -m pytest -m slidefit tests/test_slidefit.py

It walks every step of every deck (each slide, subslide and fragment) at 1280x720, in Chromium:

* RISE (``/rise/notebooks/<notebook>`` on ``make lab``, serving a copy of the repository): the stored outputs
  are not what a presenter shows (an explorer is stored as a line of text and runs as sliders, a table and a
  figure), so the deck clears its outputs and runs every cell first (Run All Cells, from the command palette;
  04 trains for a few minutes). On a slide with an explorer, every state a presenter can reach by its extremes
  is measured too: each option of each drop-down, each check box flipped, then each slider dragged to its
  maximum in turn and to its minimum in turn (``EXPLORE``);
* the static decks of ``make slides`` (``d2l_extras.slides.export_deck``), with the outputs stored in the notebook:
  each notebook's lecture deck and its "Going further" deck (``slides.further_notebook``).

A (sub)slide fails when a line of its text or an image on it is cut off or hidden: below the screen's bottom edge
(too tall) or past its right edge or the edge of the box that holds it (too wide: a code line that needs a
horizontal scroll bar, a table wider than its output area). A (sub)slide with a cell tagged ``scroll`` may be
taller than the screen (it scrolls); it must still fit the width. A figure shown as text (``<Figure size ...>``)
fails too: the slide would be measured without its picture.
Each failure names the notebook, the slide (reveal.js numbering, h.v from 1, and the fragment step), its title,
the explorer's state, the pixels it overflows by, and its tallest or widest cells.
"""
import json
import re
import time
from pathlib import Path

import pytest

from d2l_extras import slides
from test_browser import (FIGURE_TEXT, NOTEBOOKS, ROOT, browser, lab, page, palette,  # noqa: F401 - fixtures
                          unavailable)
from test_browser import CURRENT, back_to_the_start

pytestmark = pytest.mark.slidefit
WIDTH, HEIGHT = slides.SCREEN
SLACK = 4  # px: a glyph's box pokes a pixel or two out of its line box; no one sees that
DECKS = sorted(NOTEBOOKS.glob('[0-9][0-9]_*.ipynb'))
# The static decks: each notebook's lecture deck, and its "Going further" deck when it has one.
STATIC = [(path, False) for path in DECKS] + [
    (path, True) for path in DECKS if slides.further_notebook(json.loads(path.read_text(encoding='utf-8')))]

# Where the deck is, and how far what it shows runs past what the viewer sees: every line of text and every image
# on the (sub)slide on screen, against the screen and the boxes that clip or scroll it (a code cell's editor, an
# output's scroll area, a slide that RISE made scroll). Plus the notebook cells on the slide with their heights.
MEASURE = '''([width, height]) => {
    const top = [...document.querySelectorAll('.reveal .slides > section')];
    const h = top.findIndex(s => s.classList.contains('present'));
    if (h < 0) return null;
    const subs = [...top[h].querySelectorAll(':scope > section')];
    const v = Math.max(0, subs.findIndex(s => s.classList.contains('present')));
    const slide = subs.length ? subs[v] : top[h];
    const clips = new Map();
    const clip = (el) => {  // the visible box of el's content: the screen, cut by every ancestor that clips
        if (!el || el === document.documentElement) return {right: width, bottom: height};
        if (clips.has(el)) return clips.get(el);
        const outer = clip(el.parentElement), style = getComputedStyle(el), box = el.getBoundingClientRect();
        const inner = {right: box.left + el.clientLeft + el.clientWidth, bottom: box.top + el.clientTop + el.clientHeight};
        const own = {right: style.overflowX === 'visible' ? outer.right : Math.min(outer.right, inner.right),
                     bottom: style.overflowY === 'visible' ? outer.bottom : Math.min(outer.bottom, inner.bottom)};
        clips.set(el, own);
        return own;
    };
    const cells = [...slide.querySelectorAll('.jp-Cell')].filter(c => !c.closest('aside.notes')
                                                                    && getComputedStyle(c).display !== 'none');
    let tall = 0, wide = 0, what = '', slot = -1, sample = '';
    const check = (rect, el, text) => {
        if (!rect.width || !rect.height) return;
        const box = clip(el);
        tall = Math.max(tall, rect.bottom - box.bottom);
        if (rect.right - box.right > wide) {
            wide = rect.right - box.right;
            what = el.closest('.jp-InputPrompt, .jp-OutputPrompt') ? 'a prompt'
                 : el.closest('.jp-CodeCell .jp-InputArea') ? 'a code line' : el.closest('table') ? 'a table'
                 : el.closest('.jp-OutputArea') ? (el.tagName === 'IMG' ? 'a figure' : 'output text') : 'text';
            slot = cells.indexOf(el.closest('.jp-Cell'));
            sample = text.trim().slice(0, 30);
        }
    };
    // Not shown: speaker notes, scripts, and MathJax's copies of each formula for screen readers (clipped away).
    const hidden = 'aside.notes, script, style, .MJX_Assistive_MathML, mjx-assistive-mml, .MathJax_Preview';
    const visible = (el) => !el.closest(hidden) && getComputedStyle(el).visibility !== 'hidden';
    const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT), range = document.createRange();
    while (walker.nextNode()) {
        const node = walker.currentNode, parent = node.parentElement;
        if (!node.textContent.trim() || !parent || !visible(parent)) continue;
        range.selectNodeContents(node);
        for (const rect of range.getClientRects()) check(rect, parent, node.textContent);
    }
    for (const el of slide.querySelectorAll('img, canvas, svg, video, iframe'))
        if (visible(el) && !el.parentElement.closest('svg')) check(el.getBoundingClientRect(), el.parentElement, el.tagName.toLowerCase());
    const sizes = cells.map((c, i) => {
        const out = c.querySelector('.jp-OutputArea'), img = c.querySelector('.jp-OutputArea img'),
              table = c.querySelector('.jp-OutputArea table');
        return {slot: i, height: Math.round(c.getBoundingClientRect().height),
                output: out ? Math.round(out.getBoundingClientRect().height) : 0,
                image: img ? Math.round(img.getBoundingClientRect().height) : 0,
                rows: table ? table.querySelectorAll('tr').length : 0,
                code: c.classList.contains('jp-CodeCell')}; });
    return {h, v, f: slide.querySelectorAll('.fragment.visible').length,
            as_text: /<Figure size \\d+x\\d+ with/.test(slide.innerText),
            tall: Math.round(tall), wide: Math.round(wide), what, slot, sample, cells: sizes}; }'''


def cell_name(slot: int, entry: dict, shown: int) -> str:
    """'cell 24' (its index in the notebook) for the ``slot``-th cell shown on a slide, when the slide shows them all."""
    return f"cell {entry['cells'][slot]}" if 0 <= slot < len(entry['cells']) == shown else 'a cell'


def cause(cells: list[dict], entry: dict) -> str:
    """The tallest cells on a slide, in words: what makes it tall."""
    parts = []
    for c in sorted(cells, key=lambda c: -c['height'])[:2]:
        kind = 'code' if c['code'] else 'markdown'
        detail = (f"a figure of {c['image']} px" if c['image'] else f"a table of {c['rows']} rows" if c['rows']
                  else f"an output of {c['output']} px" if c['output'] else 'text')
        parts.append(f"{cell_name(c['slot'], entry, len(cells))} ({kind}, {c['height']} px: {detail})")
    return '; '.join(parts)


def check_step(m: dict, entry: dict, where: str) -> list[str]:
    """What does not fit on the step measured as ``m`` (``MEASURE``), one line each; ``where`` names the step."""
    failures = []
    if m['as_text']:
        failures.append(f'{where}: a figure shows as text, <Figure size ...>')
    if m['tall'] > SLACK and not entry['scroll']:
        failures.append(f'{where}: {m["tall"]} px too tall; {cause(m["cells"], entry)}')
    if m['wide'] > SLACK:
        failures.append(f'{where}: {m["wide"]} px too wide; {m["what"]} in '
                        f'{cell_name(m["slot"], entry, len(m["cells"]))} ({m["sample"]!r})')
    return failures


# ---- an explorer's states, in RISE ----------------------------------------------------------------
EXPLORER = '.jp-CodeCell:visible:has(.widget-interact)'  # a cell on the slide whose output holds live controls


def output_settled(page, cell, before: str, timeout: float = 60) -> None:
    """Wait until the explorer's output differs from ``before`` and its images are drawn."""
    output = cell.locator('.widget-interact .widget-output, .widget-interact .jp-OutputArea').last
    deadline = time.time() + timeout
    while output.inner_html() == before:
        assert 'Traceback' not in cell.inner_text(), cell.inner_text()[-1500:]
        assert time.time() < deadline, f'the explorer did not redraw within {timeout} s:\n{cell.inner_text()[-800:]}'
        page.wait_for_timeout(100)
    page.wait_for_function('(c) => [...c.querySelectorAll("img")].every(i => i.complete)', arg=cell.element_handle())
    page.wait_for_timeout(300)  # the layout after the new output


def explore(page, cell):
    """Drive the explorer ``cell`` through its extreme states; yield a name for each state once it is drawn.

    Each option of each drop-down, each check box flipped and back, then each slider to its maximum in turn (all
    at their maxima at the end), then each to its minimum in turn: the mouse drags a handle past the end of its
    track, as a presenter would."""
    output = cell.locator('.widget-interact .widget-output, .widget-interact .jp-OutputArea').last

    def redrawn_after(action) -> None:
        before = output.inner_html()
        action()
        output_settled(page, cell, before)

    for dropdown in cell.locator('.widget-dropdown').all():
        label, select = dropdown.locator('.widget-label').inner_text().strip(), dropdown.locator('select')
        for option in select.locator('option').all_inner_texts():
            if select.evaluate('s => s.options[s.selectedIndex].text') != option:
                redrawn_after(lambda: select.select_option(label=option))
                yield f'{label} = {option}'
    for checkbox in cell.locator('.widget-checkbox').all():
        label, box = checkbox.inner_text().strip(), checkbox.locator('input')
        for _ in range(2):
            redrawn_after(box.click)
            yield f'{label} = {box.is_checked()}'
    sliders = cell.locator('.widget-hslider').all()
    for end in ('max', 'min'):
        for slider in sliders:
            label, handle = slider.locator('.widget-label').inner_text().strip(), slider.locator('.noUi-handle')
            target = handle.get_attribute(f'aria-value{end}')
            if handle.get_attribute('aria-valuenow') == target:
                continue
            track, box = slider.locator('.noUi-base').bounding_box(), handle.bounding_box()
            y = box['y'] + box['height'] / 2

            def drag_past_the_end():
                page.mouse.move(box['x'] + box['width'] / 2, y)
                page.mouse.down()
                page.mouse.move(track['x'] + (track['width'] + 40 if end == 'max' else -40), y, steps=10)
                page.mouse.up()

            redrawn_after(drag_past_the_end)
            assert handle.get_attribute('aria-valuenow') == target, \
                f'dragging {label!r} past the end of its track left it at {handle.get_attribute("aria-valuenow")}'
            yield f'{label} = {slider.locator(".widget-readout").inner_text().strip()} (its {end})'


def walk(page, notebook: Path, kind: str, further: bool = False) -> list[str]:
    """Step through the whole deck with Space, from its first slide; one line per step that does not fit.

    In RISE, a step with an explorer is measured in each of the explorer's states too (``explore``)."""
    nb = json.loads(notebook.read_text(encoding='utf-8'))
    name = f'{notebook.stem}{" further" if further else ""} ({kind})'
    outline = {(s['h'], s['v']): s for s in slides.deck_outline(slides.further_notebook(nb) if further else nb)}
    failures, seen, explored, last = [], set(), set(), None
    for _ in range(600):
        page.wait_for_timeout(250)  # a transition, a MathJax pass, a widget's layout
        m = page.evaluate(MEASURE, [WIDTH, HEIGHT])
        state = m and (m['h'], m['v'], m['f'])
        if state == last:
            break
        last = state
        entry = outline.get((m['h'], m['v']))
        assert entry, f'{name}: the deck shows slide {m["h"] + 1}.{m["v"] + 1}, which ' \
                      f'd2l_extras.slides.deck_outline does not know: {sorted(outline)}'
        seen.add((m['h'], m['v']))
        where = f'{name} slide {m["h"] + 1}.{m["v"] + 1}, step {m["f"]}/{entry["fragments"]} {entry["title"]!r}'
        failures += check_step(m, entry, where)
        cells = page.locator(f'{CURRENT} {EXPLORER}').all() if kind == 'RISE' else []
        for i, cell in enumerate(cells):
            if (m['h'], m['v'], i) in explored:
                continue
            explored.add((m['h'], m['v'], i))
            for explorer_state in explore(page, cell):
                failures += check_step(page.evaluate(MEASURE, [WIDTH, HEIGHT]), entry, f'{where}, {explorer_state}')
            page.locator('.reveal .jp-Notebook').first.focus()  # the keys go to the deck again, not to a control
            page.keyboard.press('Escape')
        page.keyboard.press('Space')
    missed = sorted(set(outline) - seen)
    assert not missed, f'{name}: the walk never reached slides {missed}'
    assert kind != 'RISE' or explored or not any('interact(' in ''.join(c['source']) for c in nb['cells']
                                                   if slides.slide_type(c) != 'skip'), \
        f'{name}: the walk met no live explorer on the slides'
    return sorted(set(failures), key=failures.index)


@pytest.mark.parametrize('notebook, further', STATIC,
                         ids=lambda v: v.stem if isinstance(v, Path) else ('further' if v else 'lecture'))
def test_every_static_slide_fits_the_screen(page, notebook, further, tmp_path):
    js = ROOT / 'build' / 'js'
    if not (js / '.installed').exists():
        unavailable('build/js is missing: `make js` unpacks reveal.js, MathJax & co. from the npm registry')
    deck = slides.export_deck(notebook, tmp_path / 'slides', js, further=further)
    page.set_viewport_size({'width': WIDTH, 'height': HEIGHT})
    page.route(re.compile(r'^https?://'), lambda route: route.abort())
    page.goto(deck.as_uri())
    page.wait_for_selector('.reveal.ready', timeout=30_000)
    page.wait_for_timeout(2_000)  # MathJax typesets, the widget renderer draws the saved sliders
    page.locator('.reveal').click(position={'x': 5, 'y': 5})
    failures = walk(page, notebook, 'static deck', further)
    assert not failures, f'{len(failures)} slides do not fit {WIDTH}x{HEIGHT}:\n' + '\n'.join(failures)


@pytest.mark.parametrize('notebook', DECKS, ids=lambda p: p.stem)
def test_every_rise_slide_fits_the_screen(page, lab, notebook):
    page.set_viewport_size({'width': WIDTH, 'height': HEIGHT})
    page.goto(lab.rise_url(notebook.name))
    first = page.locator(f'{CURRENT} .jp-Cell:visible').first
    first.wait_for(timeout=90_000)
    first.click()
    palette(page, 'Clear Outputs of All Cells')
    palette(page, 'Run All Cells')
    page.wait_for_function('''() => { const cells = [...document.querySelectorAll('.jp-CodeCell')];
        return cells.some(c => c.innerText.includes('Traceback'))
            || cells.every(c => /\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').innerText)); }''',
                           timeout=900_000, polling=1_000)
    failed = [c.inner_text()[-800:] for c in page.locator('.jp-CodeCell', has_text='Traceback').all()]
    assert not failed, f'{notebook.name}: a cell failed in the slideshow:\n{failed[0]}'
    page.wait_for_timeout(3_000)  # the last outputs render
    page.locator('.reveal .jp-Notebook').first.focus()  # Run All left the deck on its last slide
    back_to_the_start(page, 600)
    failures = walk(page, notebook, 'RISE')
    assert not failures, f'{len(failures)} slides do not fit {WIDTH}x{HEIGHT}:\n' + '\n'.join(failures)
