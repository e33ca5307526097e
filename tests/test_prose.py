"""Numbers in the notebooks' prose are computed, not typed: each claim below rebuilds the exact text from
the code and the test fails when a markdown cell no longer says it (the prose drifted, or the code did).

A claim is (notebook, function); the function returns the text that must appear in the notebook's
markdown, computed from ``d2l_extras``. Numbers that code prints next to the prose need no claim here.
"""
import json
from pathlib import Path

import pytest

from d2l_extras.densenet import densenet
from d2l_extras.explore import compression_table, dense_block_table
from d2l_extras.model_zoo import DenseNet, build
from d2l_extras.sizes import channel_path, min_input_size, spatial_sizes
from d2l_extras.summary import layer_table, totals

NOTEBOOKS = Path(__file__).resolve().parents[1] / 'notebooks'


def words(text: str) -> str:
    """``text`` with every run of spaces and line breaks as one space: claims do not depend on line breaks."""
    return ' '.join(text.split())


def markdown(name: str) -> str:
    """All markdown of a notebook, cell after cell (or a markdown file of the repository), as ``words``."""
    if name.endswith('.md'):
        return words((NOTEBOOKS.parent / name).read_text(encoding='utf-8'))
    cells = json.loads((NOTEBOOKS / name).read_text(encoding='utf-8'))['cells']
    return words('\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown'))


def total(net, size=96, channels=1) -> dict:
    return totals(layer_table(net, (1, channels, size, size)))


def joined(values) -> str:
    return ', '.join(str(v) for v in values)


def percent(x: float) -> str:
    return f'{round(100 * x)}%'


# ---- 01 -------------------------------------------------------------------------------------------
def dense_block_exercise() -> str:
    table = dense_block_table(growth_rate=32, num_convs=6, in_channels=64)
    out, sees = table['output channels'].iloc[-1], table['sees channels'].iloc[-1]
    assert out == 64 + 6 * 32 and sees == 64 + 5 * 32
    return f'64 + 6 x 32 = {out} output channels; the last conv block sees 64 + 5 x 32 = {sees}'


def weights_of_six_conv_blocks() -> str:
    dense = 9 * 32 * sum(64 + l * 32 for l in range(6))
    chain = 9 * 32 * (64 + 5 * 32)
    return f'{dense:,}'.replace(',', '{,}') + '$. A chain' + ' of six 32-channel 3x3 convolutions after a 64-channel\n' \
        f'input has $9 \\cdot 32 \\cdot (64 + 5 \\cdot 32) = {chain:,}'.replace(',', '{,}')


# ---- 02 -------------------------------------------------------------------------------------------
def next_block_saving() -> str:
    saved = compression_table(0.5).loc['next dense block', 'params saved']
    half = dense_block_table(32, 4, 96)['sees channels']
    full = dense_block_table(32, 4, 192)['sees channels']
    return f'the next block saves {percent(saved)}: its conv blocks see {joined(half)} channels instead of\n{joined(full)}'


# ---- 03 -------------------------------------------------------------------------------------------
def deck_channel_story() -> str:
    deck, fixed = dict(channel_path(fixed=False)), dict(channel_path(fixed=True))
    counter = [192, 320, 448]                      # the deck's num_channels after blocks 1-3
    assert counter == [64 + 128 * i for i in (1, 2, 3)]
    blocks = [deck[f'dense block {i}'] for i in (1, 2, 3)]
    transitions = [deck[f'transition {i}'] for i in (1, 2, 3)]
    assert transitions == [c // 2 for c in counter]
    return (f'So the count runs {joined(counter)} while the blocks really output {joined(blocks)}, and the '
            f'transitions output half the count ({joined(transitions)}) instead of half of what they get '
            f'({joined(b // 2 for b in blocks)}).')


def first_printout() -> str:
    deck = dict(channel_path(fixed=False))
    return (f"the first turns {deck['dense block 1']} channels into {deck['transition 1']}, but the second\n"
            f"turns {deck['dense block 2']} into {deck['transition 2']} and the third {deck['dense block 3']} "
            f"into {deck['transition 3']}")


def corrected_channels() -> str:
    fixed = dict(channel_path(fixed=True))
    blocks = [fixed[f'dense block {i}'] for i in (1, 2, 3, 4)]
    transitions = [fixed[f'transition {i}'] for i in (1, 2, 3)]
    return f'the blocks output {joined(blocks)} channels and the transitions {joined(transitions)}'


def cost_of_the_bug() -> str:
    deck, fixed = total(densenet(fixed=False)), total(densenet(fixed=True))
    more_params = deck['params'] / fixed['params'] - 1
    more_flops = deck['FLOPs'] / fixed['FLOPs'] - 1
    assert more_flops < 0.05
    return f'{percent(more_params)} more parameters, but under 5% more FLOPs'


def summary_of_03() -> str:
    deck, fixed = total(densenet(fixed=False)), total(densenet(fixed=True))
    return (f"`num_channels //= 2`: {deck['params']:,} instead of {fixed['params']:,} parameters, silently.\n"
            f"* At 96 px the corrected model needs {fixed['FLOPs'] / 1e9:.3f} GFLOPs per image.")


def first_block_dominates() -> str:
    table = layer_table(densenet(), (1, 1, 96, 96))
    blocks = table[table['layer'].str.endswith('DenseBlock')]['mult-adds'].tolist()
    assert blocks[0] > sum(blocks[1:])
    return 'the first block, at 24 x 24, costs\nmore FLOPs than the other three together'


def imagenet_size_ratio() -> str:
    ratio = total(densenet(), 224)['FLOPs'] / total(densenet(), 96)['FLOPs']
    return f"ImageNet's 224 x 224\nwould cost {ratio:.1f} times the FLOPs of 96 x 96"


def imagenet_size_ratio_04() -> str:
    ratio = total(densenet(), 224)['FLOPs'] / total(densenet(), 96)['FLOPs']
    return f'costs {ratio:.1f} times the FLOPs of 96 x 96'


def by_hand_29() -> str:
    return f'{min_input_size()} px for\n4 blocks (' + ' -> '.join(str(s) for _, s in spatial_sizes(29)) + ')'


def extra_parameters() -> str:
    extra = total(densenet(fixed=False))['params'] - total(densenet(fixed=True))['params']
    return f"The deck's model has {extra:,} more parameters"


def cost_of_96_vs_32() -> str:
    ratio = total(densenet(), 96)['FLOPs'] / total(densenet(), 32)['FLOPs']
    return f'96 px costs {ratio:.0f} times the FLOPs of 32 px per image'


def resnet_layer_weights() -> str:
    weights = 9 * 512 * 512
    assert 3 < weights / total(densenet())['params'] < 4
    return f'one of them alone has {weights / 1e6:.1f} million weights,\nmore than three times the whole DenseNet'


def densenet121_count() -> str:
    return f"DenseNet-121 then has\n{total(build('densenet121'), 224, 3)['params']:,} parameters"


# ---- 04 -------------------------------------------------------------------------------------------
def cpu_quick_size() -> str:
    from d2l_extras.recipes import RECIPES, build_model
    quick = RECIPES['cpu-quick']
    net = build_model(quick)
    ratio = total(net, quick.resize)['FLOPs'] / total(net, 96)['FLOPs']
    assert abs(ratio - 1 / 9) < 0.01, ratio
    return f'Images of {quick.resize} px cost a ninth of the work of 96 px'


def label_smoothing_target() -> str:
    from d2l_extras.recipes import RECIPES
    e, classes = RECIPES['cpu-quick'].label_smoothing, 10
    return f'(aiming at {1 - e + e / classes:.0%} confidence\ninstead of 100%)'


def smoothed_loss_floor() -> str:
    """The cross-entropy of the smoothed targets with themselves: the least loss any prediction can get."""
    import math
    from d2l_extras.recipes import RECIPES
    e, classes = RECIPES['full-modern'].label_smoothing, 10
    right, other = 1 - e + e / classes, e / classes
    floor = -(right * math.log(right) + (classes - 1) * other * math.log(other))
    return f'which no prediction can match better than a loss of {floor:.2f}'


# ---- 05 -------------------------------------------------------------------------------------------
def deck_counter_path() -> str:
    return 'its channel *counter* follows the $\\theta = 1$ path (192, 320, 448)'


def bc_corners() -> str:
    def cost(bn, theta):
        return total(DenseNet(growth_rate=32, block_config=(4, 4, 4, 4), bn_size=bn, compression=theta,
                              num_classes=10, use_bias=True))
    plain, c = cost(None, 1.0), cost(None, 0.5)
    return (f"Compression alone (DenseNet-C, the lesson's model) saves {percent(1 - c['params'] / plain['params'])} "
            f"of the parameters and {percent(1 - c['FLOPs'] / plain['FLOPs'])} of the FLOPs")


def widest_input_after_compression() -> str:
    fixed = dict(channel_path(fixed=True))
    widest = max(fixed[f'transition {i}'] + 3 * 32 for i in (1, 2, 3))
    assert widest < 7.2 * 32 + 1.6                  # below the bottleneck's break-even (exercise 1)
    return f'after compression no layer sees more than {widest} channels'


def resnet_comparison() -> str:
    lesson, quarter, resnet = (total(build(n)) for n in ('densenet', 'resnet18-quarter', 'resnet18'))
    assert abs(lesson['params'] / quarter['params'] - 1) < 0.1 and round(resnet['params'] / lesson['params']) == 15
    assert lesson['FLOPs'] < resnet['FLOPs'] / 2
    assert lesson['activation bytes'] > max(quarter['activation bytes'], resnet['activation bytes'])
    return ("The lesson's DenseNet has about the parameters of the quarter-width ResNet-18 and a\nfifteenth of "
            "ResNet-18's, and less than half of ResNet-18's compute")


def bc_smaller_from() -> str:
    def params(L, bn):
        return total(DenseNet(growth_rate=32, block_config=(L,) * 4, bn_size=bn, compression=0.5,
                              num_classes=10, use_bias=True))['params']
    first = next(L for L in range(1, 20) if params(L, 4) < params(L, None))
    assert first == 7
    return 'from how many layers per block on is DenseNet-BC smaller than DenseNet-C with the same layers per block?'


def measured_vs_counted() -> str:
    """Notebook 05's reading of benchmarks/memory.json against the activation count."""
    memory = json.loads((NOTEBOOKS.parent / 'benchmarks' / 'memory.json').read_text())
    measured = {(r['model'], r['mode']): r['step_mib'] for r in memory['versus_resnet']}
    ratios = {}
    for name in ('densenet', 'densenet-bc', 'resnet18', 'resnet18-quarter', 'd2l-resnet18'):
        t = total(build(name))
        counted = 32 * t['activation bytes'] / 2 ** 20 + 8 * t['params'] / 2 ** 20
        ratios[name] = measured[(name, 'hybrid')] / counted
        hybrid_lower = measured[(name, 'hybrid')] < measured[(name, 'imperative')]
        assert hybrid_lower == name.startswith('densenet'), name

    def span(values) -> str:
        low, high = f'{min(values):.1f}', f'{max(values):.1f}'
        return low if low == high else f'{low} to {high}'
    dense = span([r for n, r in ratios.items() if n.startswith('densenet')])
    res = span([r for n, r in ratios.items() if 'resnet' in n])
    return f'a step needs {dense} times the count for the DenseNets and {res}\ntimes for the ResNets'


def bc_flops_in_block_1() -> str:
    def blocks(bn):
        net = DenseNet(growth_rate=32, block_config=(4, 4, 4, 4), bn_size=bn, compression=0.5, num_classes=10,
                       use_bias=True)
        table = layer_table(net, (1, 1, 96, 96), depth=2)
        return table[table['layer'].str.endswith('_DenseBlock')]['mult-adds'].to_numpy()
    added = blocks(4) - blocks(None)
    assert (added > 0).all() and added[0] > added[1:].sum()
    return 'and FLOPs most of all in block 1'


def memory_readings() -> str:
    memory = json.loads((NOTEBOOKS.parent / 'benchmarks' / 'memory.json').read_text())
    steps = {(r['layers_per_block'], r['mode'], bool(r['env']), bool(r['mirror_ops'])): r['step_mib']
             for r in memory['mirroring']}
    for L in (4, 16, 32):
        assert abs(steps[(L, 'hybrid', True, False)] / steps[(L, 'hybrid', False, False)] - 1) < 0.01
        assert 1 - steps[(L, 'symbol', True, False)] / steps[(L, 'symbol', False, False)] < 0.02
    saved = [1 - steps[(L, 'symbol', True, True)] / steps[(L, 'symbol', False, False)] for L in (4, 16, 32)]
    assert saved == sorted(saved) and saved[0] > 0.02
    big = [r for r in memory['at_224'] if r['image_size'] == 224]
    (small, large) = sorted(big, key=lambda r: r['batch_size'])
    per_image = (large['step_mib'] - small['step_mib']) / (large['batch_size'] - small['batch_size'])
    gib = (small['step_mib'] + (256 - small['batch_size']) * per_image) / 1024
    return f'one step at 224 x 224 needs about {gib:.0f} GiB'


def growth_rate_16() -> str:
    lesson, half = total(build('densenet')), total(build('densenet', growth_rate=16))
    share = {key: percent(half[key] / lesson[key]) for key in ('params', 'FLOPs', 'activation bytes')}
    return (f"Half the growth rate: {share['params']} of the parameters and {share['FLOPs']} of the FLOPs of "
            f"the lesson's model, but {share['activation bytes']} of its activations")


def explorer_answers_01() -> tuple[str, ...]:
    # the arc diagram joins every node to every later one: input, L conv blocks, output
    into_convs = {L: sum(range(1, L + 1)) for L in (4, 8)}              # conv block l gets l arrows
    with_output = {L: into_convs[L] + L + 1 for L in (4, 8)}
    k = next(k for k in range(1, 65) if dense_block_table(k, 4, 64)['output channels'].iloc[-1] == 128)
    params = {k: dense_block_table(k, 2, 3)['params'].sum() for k in (10, 20)}
    return (f'{into_convs[4]} for 4, {into_convs[8]} for 8', f'{with_output[4]} and {with_output[8]}',
            f'(2) {k}: 64 + 4 x {k} = 128',
            f'{params[10]:,} to {params[20]:,} parameters')


def explorer_answers_02() -> str:
    from d2l_extras.sizes import transition_channels
    return (f'(1) {transition_channels(192, 0.25)}.', f'theta = 0.05 ({transition_channels(192, 0.05)} channels')


def explorer_answers_05() -> tuple[str, ...]:
    def count(bn, theta):
        return total(DenseNet(growth_rate=32, block_config=(4, 4, 4, 4), bn_size=bn, compression=theta,
                              num_classes=10, use_bias=True))['params']
    plain = count(None, 1.0)
    return (f'θ = 0.6 keeps {percent(count(None, 0.6) / plain)} (0.55 keeps {percent(count(None, 0.55) / plain)})',
            f'even θ = 0.1 leaves DenseNet-BC with {count(4, 0.1):,}', f"DenseNet-C's {count(None, 0.5):,} parameters")


def explorer_answers_03() -> str:
    from d2l_extras.summary import costs
    gflops = costs(densenet(32, (6, 12, 24, 16)), image_size=224)['GFLOPs']
    assert round(gflops) == 6, gflops
    last = spatial_sizes(29)[-1][1]
    return f'(2) About {round(gflops)} GFLOPs per image', f'(3) {last} x {last}'


def lecture_slide_count() -> int:
    from d2l_extras.slides import lecture_slides
    return sum(len(lecture_slides(json.loads(p.read_text()))) for p in sorted(NOTEBOOKS.glob('0[1-4]_*.ipynb')))


def core_lecture_slides() -> str:
    return f'notebooks 01 to 04 in the RISE slideshow, {lecture_slide_count()} slides'


def core_lecture_slides_readme() -> str:
    return f'Notebooks 01 to 04 are one lecture of {lecture_slide_count()} slides'


CLAIMS = [
    ('00_index.ipynb', core_lecture_slides),
    ('README.md', core_lecture_slides_readme),
    ('solutions/01_dense_blocks_solutions.ipynb', dense_block_exercise),
    ('solutions/01_dense_blocks_solutions.ipynb', weights_of_six_conv_blocks),
    ('01_dense_blocks.ipynb', explorer_answers_01),
    ('02_transition_layers.ipynb', explorer_answers_02),
    ('03_densenet_model.ipynb', explorer_answers_03),
    ('02_transition_layers.ipynb', next_block_saving),
    ('03_densenet_model.ipynb', deck_channel_story),
    ('03_densenet_model.ipynb', first_printout),
    ('03_densenet_model.ipynb', corrected_channels),
    ('03_densenet_model.ipynb', cost_of_the_bug),
    ('03_densenet_model.ipynb', summary_of_03),
    ('03_densenet_model.ipynb', first_block_dominates),
    ('03_densenet_model.ipynb', imagenet_size_ratio),
    ('04_training.ipynb', by_hand_29),
    ('04_training.ipynb', imagenet_size_ratio_04),
    ('03_densenet_model.ipynb', extra_parameters),
    ('03_densenet_model.ipynb', cost_of_96_vs_32),
    ('solutions/03_densenet_model_solutions.ipynb', resnet_layer_weights),
    ('solutions/03_densenet_model_solutions.ipynb', densenet121_count),
    ('04_training.ipynb', cpu_quick_size),
    ('04_training.ipynb', label_smoothing_target),
    ('04_training.ipynb', smoothed_loss_floor),
    ('05_beyond_the_deck.ipynb', deck_counter_path),
    ('05_beyond_the_deck.ipynb', explorer_answers_05),
    ('05_beyond_the_deck.ipynb', bc_corners),
    ('05_beyond_the_deck.ipynb', widest_input_after_compression),
    ('05_beyond_the_deck.ipynb', resnet_comparison),
    ('05_beyond_the_deck.ipynb', bc_smaller_from),
    ('05_beyond_the_deck.ipynb', measured_vs_counted),
    ('05_beyond_the_deck.ipynb', bc_flops_in_block_1),
    ('05_beyond_the_deck.ipynb', memory_readings),
    ('solutions/05_beyond_the_deck_solutions.ipynb', growth_rate_16),
]


@pytest.mark.parametrize('notebook, claim', CLAIMS, ids=[f'{Path(n).name[:2]}-{c.__name__}' for n, c in CLAIMS])
def test_prose_says_what_the_code_computes(notebook, claim):
    said = claim()
    for expected in map(words, (said,) if isinstance(said, str) else said):   # a claim may return several texts
        assert expected in markdown(notebook), (
            f'{notebook}: the prose should say (computed now):\n  {expected!r}\n'
            'edit the markdown (or the claim, if the sentence was rewritten) so that they agree')
