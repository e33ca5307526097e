"""The right answers of the exercises (``d2l_extras.exercises``), computed by the lesson's own code or read from
stored runs, so that no answer is written down: a student who reads this finds how to get each one, not the
answer itself. Code answers are run here against a reference on random inputs.
"""
from __future__ import annotations

import math
from typing import Sequence

def dense_block(column: str, growth_rate: int = 32, num_convs: int = 6, in_channels: int = 64) -> int:
    from .explore import dense_block_table
    return int(dense_block_table(growth_rate, num_convs, in_channels)[column].iloc[-1])


def conv_weights(net, in_channels: int) -> int:
    """Weights of every convolution in ``net`` (no biases, no batch norm) for an input of ``in_channels``."""
    from .summary import layer_table
    layer_table(net, (1, in_channels, 8, 8))
    return sum(math.prod(p.shape) for p in net.collect_params().values() if len(p.shape) == 4)


def block_weights() -> int:
    from .densenet import DenseBlock
    return conv_weights(DenseBlock(6, 32), 64)


def chain_weights() -> int:
    from mxnet.gluon import nn
    chain = nn.HybridSequential()
    chain.add(*[nn.Conv2D(32, kernel_size=3, padding=1) for _ in range(6)])
    return conv_weights(chain, 64)


def unpadded_size() -> int:
    from mxnet.gluon import nn
    from .summary import layer_table
    return int(layer_table(nn.Conv2D(1, kernel_size=3), (1, 3, 8, 8))['output shape'].iloc[-1][-1])


def inputs_with_gradient(pool: str) -> int:
    from mxnet import autograd, np
    from mxnet.gluon import nn
    with np_mode():
        x = np.random.uniform(size=(1, 1, 4, 4))
        x.attach_grad()
        layer = {'max': nn.MaxPool2D, 'avg': nn.AvgPool2D}[pool](pool_size=2, strides=2)
        with autograd.record():
            y = layer(x).sum()
        y.backward()
        return int((x.grad != 0).sum())


def np_mode():
    """MXNet's NumPy semantics for a block of code (checks may run where ``npx.set_np()`` was not called)."""
    from mxnet.util import np_array, np_shape
    from contextlib import ExitStack
    stack = ExitStack()
    stack.enter_context(np_shape(True))
    stack.enter_context(np_array(True))
    return stack


def conv3x3_weights(in_channels: int, out_channels: int) -> int:
    from mxnet.gluon import nn
    conv = nn.HybridSequential()
    conv.add(nn.Conv2D(out_channels, kernel_size=3, padding=1))
    return conv_weights(conv, in_channels)


def pool_first_saving() -> float:
    """FLOPs of a transition's 1x1 convolution before the 2x2 pooling, over those after it."""
    from .densenet import transition_block
    from .summary import layer_table
    table = layer_table(transition_block(10), (1, 23, 8, 8))
    before = int(table['mult-adds'].sum())
    from mxnet.gluon import nn
    after = int(layer_table(nn.Conv2D(10, kernel_size=1), (1, 23, 4, 4))['mult-adds'].sum())
    return before / after


def kept_channels(theta: float, channels: int) -> int:
    """floor(theta x channels): what the compression rule keeps before it checks that 1 channel remains."""
    return math.floor(round(theta * channels, 9))


def theta_bounds() -> tuple[float, float]:
    """The thetas for which a transition after 192 channels keeps exactly 64: [64/192, 65/192)."""
    from .sizes import transition_channels
    low, high = 64 / 192, 65 / 192
    assert transition_channels(192, low) == 64 and transition_channels(192, high) == 65
    return low, high


def mib_per_image(size: int) -> float:
    from .densenet import densenet
    from .summary import costs
    return costs(densenet(), image_size=size)['activations MiB']


def smallest_input(blocks: int) -> int:
    from .sizes import min_input_size
    return min_input_size(blocks)


def lesson_params(layout: tuple[int, ...], num_classes: int = 1000, channels: int = 3, size: int = 224) -> int:
    from .densenet import densenet
    from .summary import layer_table, totals
    return totals(layer_table(densenet(32, layout, num_classes), (1, channels, size, size)))['params']


def is_block_class(value: object) -> bool:
    from mxnet.gluon import nn
    return isinstance(value, type) and issubclass(value, nn.Block)


def is_hybrid_block(value: object) -> bool:
    from mxnet.gluon import nn
    return isinstance(value, nn.HybridBlock)


def dense_mlp_test(cls) -> str | None:
    """A dense MLP block: output = input followed by every layer's ``growth`` new features."""
    import numpy as onp
    from mxnet import np
    with np_mode():
        for num_layers, growth, n, d in ((3, 16, 2, 331), (1, 5, 4, 7)):
            block = cls(num_layers, growth)
            block.initialize()
            X = np.random.uniform(size=(n, d))
            Y = block(X)
            if Y is None:
                return 'the forward pass returned None: return the concatenated features'
            if tuple(Y.shape) != (n, d + num_layers * growth):
                return (f'{cls.__name__}({num_layers}, {growth}) turned a {(n, d)} input into {tuple(Y.shape)}: '
                        'each layer should add `growth` features to everything before it')
            if not onp.allclose(Y[:, :d].asnumpy(), X.asnumpy(), atol=1e-6):
                return 'the first features of the output should be the input itself, unchanged (concatenate, do not add)'
    return None


def densenet169_test(net) -> str | None:
    from .summary import layer_table, totals
    got, want = totals(layer_table(net, (1, 3, 224, 224)))['params'], lesson_params((6, 12, 32, 32))
    if got != want:
        return (f'your net has {got:,} parameters for a (1, 3, 224, 224) input: check the layout and the '
                '1000 classes')
    return None


def bottleneck_pays_from() -> int:
    """The smallest input width c from which a dense layer with a 4k bottleneck has fewer parameters (k = 32)."""
    from .model_zoo import DenseLayer
    from .summary import layer_table, totals

    def params(c: int, bn_size: int | None) -> int:
        return totals(layer_table(DenseLayer(32, bn_size=bn_size), (1, c, 8, 8)))['params']
    return next(c for c in range(200, 300) if params(c, 4) < params(c, None))


def bc_smaller_from() -> int:
    """The fewest layers per block from which DenseNet-BC has fewer parameters than DenseNet-C (k = 32, 96 px)."""
    from .model_zoo import DenseNet
    from .summary import layer_table, totals

    def params(L: int, bn_size: int | None) -> int:
        net = DenseNet(growth_rate=32, block_config=(L,) * 4, bn_size=bn_size, compression=0.5,
                       num_classes=10, use_bias=True)
        return totals(layer_table(net, (1, 1, 96, 96)))['params']
    return next(L for L in range(4, 20) if params(L, 4) < params(L, None))


def runs(experiment: str) -> list[dict]:
    """The stored runs of one experiment of notebook 04's exercises (``benchmarks/exercise_runs.py``)."""
    from .measured import load
    return [r for r in load('exercise_runs') if r['experiment'] == experiment]


def exercise_runs(experiments: Sequence[str]):
    """The stored runs of notebook 04's exercises as a table: per experiment and seed, the final test
    accuracy and loss, the seconds per epoch, and where a run diverged."""
    import pandas as pd
    rows = []
    for name in experiments:
        for r in sorted(runs(name), key=lambda r: r['seed']):
            epochs = r['history']['epochs']
            rows.append({'experiment': name, 'seed': r['seed'], 'epochs': len(epochs),
                         'test acc, epoch 1': round(epochs[0]['test_acc'], 4) if epochs else None,
                         'test acc': round(final(r), 4), 'loss': round(epochs[-1]['loss'], 4) if epochs else None,
                         'sec per epoch': round(sum(e['time'] for e in epochs) / max(len(epochs), 1), 1),
                         'diverged': r['history']['diverged'] or '-'})
    return pd.DataFrame(rows).set_index(['experiment', 'seed'])


def final(run: dict) -> float:
    return run['history']['epochs'][-1]['test_acc'] if run['history']['epochs'] else 0.0


def lr_spread() -> str:
    """How far apart the final test accuracies of the learning-rate runs end, in words."""
    finals = [final(r) for name in ('lr-0.05', 'recipe', 'lr-0.2', 'lr-0.8') for r in runs(name)[:1]]
    points = 100 * (max(finals) - min(finals))
    return 'less than 1 point' if points < 1 else '1 to 5 points' if points <= 5 else 'more than 5 points'


def diverged() -> str:
    gone = [name.split('-')[1] for name in ('lr-0.05', 'lr-0.2', 'lr-0.8') if any(r['history']['diverged']
                                                                                  for r in runs(name))]
    return gone[0] if len(gone) == 1 else 'none' if not gone else 'several'


def deck_model_accuracy() -> str:
    """'costs accuracy', 'gains accuracy' or 'within the spread of seeds': the deck's model against the recipe's."""
    deck, lesson = ([final(r) for r in runs(name)] for name in ('deck-model', 'recipe'))
    difference = sum(deck) / len(deck) - sum(lesson) / len(lesson)
    if abs(difference) <= max(max(deck) - min(deck), max(lesson) - min(lesson)):
        return 'within the spread of seeds'
    return 'gains accuracy' if difference > 0 else 'costs accuracy'


def updates_per_epoch(batch_size: int) -> int:
    from .data import SPLIT_SIZES
    return math.ceil(SPLIT_SIZES['train'] / batch_size)


def work_of_96(size: int) -> float:
    from .densenet import densenet
    from .summary import costs
    return costs(densenet(), image_size=size)['GFLOPs'] / costs(densenet(), image_size=96)['GFLOPs']


def deck_params_ratio() -> float:
    from .densenet import densenet
    from .summary import costs
    return costs(densenet(fixed=False))['params'] / costs(densenet())['params']


def memory() -> dict:
    from .measured import load
    return load('memory')


def quadratic_fit_at(layers: int) -> float:
    coef = memory()['fit']['hybrid']['quadratic']['coef_high_first']
    return sum(c * layers ** (len(coef) - 1 - i) for i, c in enumerate(coef))


def linear_share_at(layers: int) -> float:
    """The line through the first two measured points of the hybridized curve (activations: the step's memory
    less 8 bytes per parameter for weights and gradients), as a share of the quadratic fit."""
    points = sorted((p['layers_per_block'], p['step_mib'] - 8 * p['params'] / 2 ** 20)
                    for p in memory()['curve'] if p['mode'] == 'hybrid')
    (l1, m1), (l2, m2) = points[:2]
    return (m1 + (layers - l1) * (m2 - m1) / (l2 - l1)) / quadratic_fit_at(layers)


def largest_batch_224(gib: float = 8) -> int:
    """The measured step at 224 px grown by the measured MiB per extra image until ``gib`` GiB."""
    rows = [(r['batch_size'], r['step_mib']) for r in memory()['at_224'] if r['image_size'] == 224]
    (b1, m1), (b2, m2) = min(rows), max(rows)
    return int(b1 + (gib * 1024 - m1) / ((m2 - m1) / (b2 - b1)))


def k16(key: str) -> float:
    from .model_zoo import lesson_densenet
    from .summary import costs
    narrow, lesson = costs(lesson_densenet(growth_rate=16)), costs(lesson_densenet())
    return narrow['params'] if key == 'params' else narrow['activations MiB'] / lesson['activations MiB']
