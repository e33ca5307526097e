"""Exercises that answer back: ``check('01.2', out_channels=..., last_sees=...)`` prints one line and
returns True or False.

A right answer gets a ``✓`` and a sentence of why; a wrong one a hint that leads without giving the
answer away; a missing, misspelled or ill-typed one (a string, None, ``...``, NaN, a wrong shape) a hint
naming what is expected, never a traceback. ``EXERCISES`` maps each id (``'NN.k'``: notebook NN,
exercise k) to its question and the answers it takes. The right answers are not written here: numbers
are computed by the same code the lesson uses, choices are stored as digests, code is run against a
reference on random inputs. Questions answered in words have no check; ``show_answer(id)`` shows the
model answer, which lives in the notebook's solutions (``notebooks/solutions/``).

A new exercise is one entry of ``EXERCISES``.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

SOLUTIONS = Path(__file__).resolve().parent.parent / 'notebooks' / 'solutions'
RIGHT, WRONG = '✓', '✗'


# ---- the kinds of answer -------------------------------------------------------------------------
def _is_number(value: object) -> bool:
    """A real, finite number (a Python or NumPy int or float; not a bool, a string or NaN)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


@dataclass(frozen=True)
class Whole:
    """A whole number, compared exactly with ``reference()``."""
    reference: Callable[[], int]
    hint: str
    expects: str = 'a whole number, e.g. 100'

    def problem(self, value: object) -> bool:
        return not (_is_number(value) and float(value).is_integer())

    def right(self, value: Any, key: str) -> bool:
        return int(value) == self.reference()


@dataclass(frozen=True)
class Number:
    """A number within ``rel`` (relative) of ``reference()``: read off a table or a plot, or rounded."""
    reference: Callable[[], float]
    hint: str
    rel: float = 0.02
    expects: str = 'a number, e.g. 0.5'

    def problem(self, value: object) -> bool:
        return not _is_number(value)

    def right(self, value: Any, key: str) -> bool:
        return math.isclose(float(value), self.reference(), rel_tol=self.rel)


@dataclass(frozen=True)
class Between:
    """A number ``x`` with ``low <= x < high``, the two bounds from ``bounds()``."""
    bounds: Callable[[], tuple[float, float]]
    hint: str
    expects: str = 'a number, e.g. 0.5'

    def problem(self, value: object) -> bool:
        return not _is_number(value)

    def right(self, value: Any, key: str) -> bool:
        low, high = self.bounds()
        return low <= float(value) < high


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (a string, case and spaces ignored). The right one is known by its digest only, or,
    when it comes from measured runs, computed by ``reference()``."""
    options: tuple[str, ...]
    digest: str | None
    hint: str
    reference: Callable[[], str] | None = None

    @property
    def expects(self) -> str:
        return 'one of ' + ', '.join(repr(o) for o in self.options)

    def problem(self, value: object) -> bool:
        return not (isinstance(value, str) and _normal(value) in map(_normal, self.options))

    def right(self, value: Any, key: str) -> bool:
        if self.reference is not None:
            return _normal(value) == _normal(self.reference())
        return digest(key, value) == self.digest


@dataclass(frozen=True)
class Code:
    """Code (a function, a class, a block): ``test(value)`` runs it on random inputs against a reference and
    returns None when it agrees, else what differs (a hint). ``kind(value)`` says whether it is code at all."""
    test: Callable[[Any], str | None]
    kind: Callable[[Any], bool]
    expects: str
    hint: str = ''

    def problem(self, value: object) -> bool:
        return not self.kind(value)

    def right(self, value: Any, key: str) -> bool:
        return self.test(value) is None


def _normal(text: str) -> str:
    return ' '.join(text.lower().split())


def digest(key: str, value: str) -> str:
    """The stored form of a choice: the first 12 hex digits of SHA-256 over the exercise, answer and value."""
    return hashlib.sha256(f'{key}={_normal(value)}'.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Exercise:
    """A question and the answers it takes (by name); ``why`` is shown with a right answer."""
    question: str
    why: str = ''
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def in_words(self) -> bool:
        """Answered in words only: no check, a model answer on request."""
        return not self.answers


def ask(question: str, why: str = '', **answers: Any) -> Exercise:
    """An ``Exercise``, written as one call: ``ask('How many ...?', 'Because ...', out_channels=Whole(...))``."""
    return Exercise(question, why, answers)


# ---- checking ------------------------------------------------------------------------------------
def _shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` on one short line; an object of a class by its class (``a DenseBlock``)."""
    if not isinstance(value, (numbers.Number, str, tuple, list, type)):
        return f'a {type(value).__name__}'
    text = ' '.join(repr(value).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _plain(value: object) -> object:
    """A one-element array (NumPy or MXNet) as the Python number it holds; anything else unchanged."""
    if hasattr(value, 'item') and getattr(value, 'size', None) == 1 and not isinstance(value, numbers.Number):
        try:
            return value.item()
        except Exception:
            return value
    return value


def _names(names: Sequence[str]) -> str:
    return ', '.join(names[:-1]) + ' and ' + names[-1] if len(names) > 1 else names[0]


def _verdict(exercise_id: str, exercise: Exercise, given: dict[str, Any]) -> tuple[bool, str]:
    """(right?, the line to print) for the answers ``given`` to ``exercise``."""
    names = list(exercise.answers)
    unknown = sorted(set(given) - set(names))
    if unknown:
        close = difflib.get_close_matches(unknown[0], names, n=1)
        guess = f' (did you mean {close[0]}?)' if close else ''
        return False, f'{exercise_id} has no answer called {unknown[0]}{guess}: it takes {_names(names)}'
    given = {name: _plain(value) for name, value in given.items()}
    problems = []
    for name, answer in exercise.answers.items():
        value = given.get(name, ...)
        if value is ... or value is None:
            problems.append(f'fill in {name} ({answer.expects})')
        elif answer.problem(value):
            problems.append(f'{name} should be {answer.expects}, got {_shown(value)}')
    if problems:
        return False, f'{exercise_id}: ' + '; '.join(problems)
    wrong = []
    for name, answer in exercise.answers.items():
        try:
            ok = answer.right(given[name], f'{exercise_id}/{name}')
        except Exception as error:  # student code that raises: say so, as a hint
            message = ' '.join(str(error).split())
            wrong.append(f'{name} raised {type(error).__name__}: {message[:80]}')
            continue
        if not ok:
            detail = answer.test(given[name]) if isinstance(answer, Code) else None
            wrong.append(f'{name}: {detail or answer.hint}')
    if wrong:
        right = [n for n in names if not any(w.startswith(n) for w in wrong)]
        prefix = f'{_names(right)} right; ' if right else ''
        return False, f'{WRONG} {exercise_id}: {prefix}' + ' '.join(wrong)
    return True, f'{RIGHT} {exercise_id}: {exercise.why}'


class Verdict(int):
    """What ``check`` returns: True (1) or False (0), which a notebook does not echo below the printed line."""

    def __repr__(self) -> str:
        return repr(bool(self))

    def _ipython_display_(self) -> None:
        pass


def check(exercise_id: str, **answers: Any) -> Verdict:
    """Check your answers to exercise ``exercise_id``: prints one line (✓ and why, or a hint); True if all right."""
    exercise = EXERCISES.get(exercise_id) if isinstance(exercise_id, str) else None
    if exercise is None:
        ok, line = False, f'there is no exercise {_shown(exercise_id)}: the ids are {", ".join(EXERCISES)}'
    elif exercise.in_words:
        ok, line = False, (f'{exercise_id} is answered in words, not checked: write yours, then '
                           f"show_answer('{exercise_id}') shows a model answer")
    else:
        ok, line = _verdict(exercise_id, exercise, answers)
    print(line)
    return Verdict(ok)


def model_answer(exercise_id: str) -> str:
    """The model answer of ``exercise_id``: the markdown cells tagged ``answer-<id>`` in its solutions notebook."""
    if exercise_id not in EXERCISES:
        raise ValueError(f'exercise_id must be one of {", ".join(EXERCISES)}, got {exercise_id!r}')
    paths = sorted(SOLUTIONS.glob(f'{exercise_id[:2]}_*_solutions.ipynb'))
    if not paths:
        raise FileNotFoundError(f'no solutions notebook for {exercise_id} in {SOLUTIONS}')
    cells = json.loads(paths[0].read_text(encoding='utf-8'))['cells']
    tag = f'answer-{exercise_id}'
    parts = [''.join(c['source']) for c in cells
             if c['cell_type'] == 'markdown' and tag in c['metadata'].get('tags', [])]
    if not parts:
        raise LookupError(f'{paths[0].name} has no cell tagged {tag}')
    return '\n\n'.join(parts)


def show_answer(exercise_id: str) -> None:
    """Show the model answer of ``exercise_id`` (rendered in a notebook, as text elsewhere)."""
    text = model_answer(exercise_id)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
        if get_ipython() is not None:
            display(Markdown(text))
            return
    except ImportError:
        pass
    print(text)


# ---- the references: what a right answer is, computed by the lesson's own code -------------------
def _dense_block(column: str, growth_rate: int = 32, num_convs: int = 6, in_channels: int = 64) -> int:
    from .explore import dense_block_table
    return int(dense_block_table(growth_rate, num_convs, in_channels)[column].iloc[-1])


def _conv_weights(net, in_channels: int) -> int:
    """Weights of every convolution in ``net`` (no biases, no batch norm) for an input of ``in_channels``."""
    from .summary import layer_table
    layer_table(net, (1, in_channels, 8, 8))
    return sum(math.prod(p.shape) for p in net.collect_params().values() if len(p.shape) == 4)


def _block_weights() -> int:
    from .densenet import DenseBlock
    return _conv_weights(DenseBlock(6, 32), 64)


def _chain_weights() -> int:
    from mxnet.gluon import nn
    chain = nn.HybridSequential()
    chain.add(*[nn.Conv2D(32, kernel_size=3, padding=1) for _ in range(6)])
    return _conv_weights(chain, 64)


def _unpadded_size() -> int:
    from mxnet.gluon import nn
    from .summary import layer_table
    return int(layer_table(nn.Conv2D(1, kernel_size=3), (1, 3, 8, 8))['output shape'].iloc[-1][-1])


def _inputs_with_gradient(pool: str) -> int:
    from mxnet import autograd, np, npx
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


def _conv3x3_weights(in_channels: int, out_channels: int) -> int:
    from mxnet.gluon import nn
    conv = nn.HybridSequential()
    conv.add(nn.Conv2D(out_channels, kernel_size=3, padding=1))
    return _conv_weights(conv, in_channels)


def _pool_first_saving() -> float:
    """FLOPs of a transition's 1x1 convolution before the 2x2 pooling, over those after it."""
    from .densenet import transition_block
    from .summary import layer_table
    table = layer_table(transition_block(10), (1, 23, 8, 8))
    before = int(table['mult-adds'].sum())
    from mxnet.gluon import nn
    after = int(layer_table(nn.Conv2D(10, kernel_size=1), (1, 23, 4, 4))['mult-adds'].sum())
    return before / after


def _kept_channels(theta: float, channels: int) -> int:
    """floor(theta x channels): what the compression rule keeps before it checks that 1 channel remains."""
    return math.floor(round(theta * channels, 9))


def _theta_bounds() -> tuple[float, float]:
    """The thetas for which a transition after 192 channels keeps exactly 64: [64/192, 65/192)."""
    from .sizes import transition_channels
    low, high = 64 / 192, 65 / 192
    assert transition_channels(192, low) == 64 and transition_channels(192, high) == 65
    return low, high


def _mib_per_image(size: int) -> float:
    from .densenet import densenet
    from .summary import costs
    return costs(densenet(), image_size=size)['activations MiB']


def _smallest_input(blocks: int) -> int:
    from .sizes import min_input_size
    return min_input_size(blocks)


def _lesson_params(layout: tuple[int, ...], num_classes: int = 1000, channels: int = 3, size: int = 224) -> int:
    from .densenet import densenet
    from .summary import layer_table, totals
    return totals(layer_table(densenet(32, layout, num_classes), (1, channels, size, size)))['params']


def _is_block_class(value: object) -> bool:
    from mxnet.gluon import nn
    return isinstance(value, type) and issubclass(value, nn.Block)


def _is_hybrid_block(value: object) -> bool:
    from mxnet.gluon import nn
    return isinstance(value, nn.HybridBlock)


def _dense_mlp_test(cls) -> str | None:
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


def _densenet169_test(net) -> str | None:
    from .summary import layer_table, totals
    got, want = totals(layer_table(net, (1, 3, 224, 224)))['params'], _lesson_params((6, 12, 32, 32))
    if got != want:
        return (f'your net has {got:,} parameters for a (1, 3, 224, 224) input: check the layout (6, 12, 32, 32), '
                'the 1000 classes and the 3 input channels')
    return None


def _bottleneck_pays_from() -> int:
    """The smallest input width c from which a dense layer with a 4k bottleneck has fewer parameters (k = 32)."""
    from .model_zoo import DenseLayer
    from .summary import layer_table, totals

    def params(c: int, bn_size: int | None) -> int:
        return totals(layer_table(DenseLayer(32, bn_size=bn_size), (1, c, 8, 8)))['params']
    return next(c for c in range(200, 300) if params(c, 4) < params(c, None))


def _bc_smaller_from() -> int:
    """The fewest layers per block from which DenseNet-BC has fewer parameters than DenseNet-C (k = 32, 96 px)."""
    from .model_zoo import DenseNet
    from .summary import layer_table, totals

    def params(L: int, bn_size: int | None) -> int:
        net = DenseNet(growth_rate=32, block_config=(L,) * 4, bn_size=bn_size, compression=0.5,
                       num_classes=10, use_bias=True)
        return totals(layer_table(net, (1, 1, 96, 96)))['params']
    return next(L for L in range(4, 20) if params(L, 4) < params(L, None))


def _runs(experiment: str) -> list[dict]:
    """The stored runs of one experiment of notebook 04's exercises (``benchmarks/exercise_runs.py``)."""
    from .measured import load
    return [r for r in load('exercise_runs') if r['experiment'] == experiment]


def exercise_runs(experiments: Sequence[str]):
    """The stored runs of notebook 04's exercises as a table: per experiment and seed, the final test
    accuracy and loss, the seconds per epoch, and where a run diverged."""
    import pandas as pd
    rows = []
    for name in experiments:
        for r in sorted(_runs(name), key=lambda r: r['seed']):
            epochs = r['history']['epochs']
            rows.append({'experiment': name, 'seed': r['seed'], 'epochs': len(epochs),
                         'test acc, epoch 1': round(epochs[0]['test_acc'], 4) if epochs else None,
                         'test acc': round(_final(r), 4), 'loss': round(epochs[-1]['loss'], 4) if epochs else None,
                         'sec per epoch': round(sum(e['time'] for e in epochs) / max(len(epochs), 1), 1),
                         'diverged': r['history']['diverged'] or '-'})
    return pd.DataFrame(rows).set_index(['experiment', 'seed'])


def _final(run: dict) -> float:
    return run['history']['epochs'][-1]['test_acc'] if run['history']['epochs'] else 0.0


def _lr_spread() -> str:
    """How far apart the final test accuracies of the learning-rate runs end, in words."""
    finals = [_final(r) for name in ('lr-0.05', 'recipe', 'lr-0.2', 'lr-0.8') for r in _runs(name)[:1]]
    points = 100 * (max(finals) - min(finals))
    return 'less than 1 point' if points < 1 else '1 to 5 points' if points <= 5 else 'more than 5 points'


def _diverged() -> str:
    gone = [name.split('-')[1] for name in ('lr-0.05', 'lr-0.2', 'lr-0.8') if any(r['history']['diverged']
                                                                                  for r in _runs(name))]
    return gone[0] if len(gone) == 1 else 'none' if not gone else 'several'


def _deck_model_accuracy() -> str:
    """'costs accuracy', 'gains accuracy' or 'within the spread of seeds': the deck's model against the recipe's."""
    deck, lesson = ([_final(r) for r in _runs(name)] for name in ('deck-model', 'recipe'))
    difference = sum(deck) / len(deck) - sum(lesson) / len(lesson)
    if abs(difference) <= max(max(deck) - min(deck), max(lesson) - min(lesson)):
        return 'within the spread of seeds'
    return 'gains accuracy' if difference > 0 else 'costs accuracy'


def _updates_per_epoch(batch_size: int) -> int:
    from .data import SPLIT_SIZES
    return math.ceil(SPLIT_SIZES['train'] / batch_size)


def _work_of_96(size: int) -> float:
    from .densenet import densenet
    from .summary import costs
    return costs(densenet(), image_size=size)['GFLOPs'] / costs(densenet(), image_size=96)['GFLOPs']


def _deck_params_ratio() -> float:
    from .densenet import densenet
    from .summary import costs
    return costs(densenet(fixed=False))['params'] / costs(densenet())['params']


def _memory() -> dict:
    from .measured import load
    return load('memory')


def _quadratic_fit_at(layers: int) -> float:
    coef = _memory()['fit']['hybrid']['quadratic']['coef_high_first']
    return sum(c * layers ** (len(coef) - 1 - i) for i, c in enumerate(coef))


def _linear_share_at(layers: int) -> float:
    """The line through the first two measured points of the hybridized curve (activations: the step's memory
    less 8 bytes per parameter for weights and gradients), as a share of the quadratic fit."""
    points = sorted((p['layers_per_block'], p['step_mib'] - 8 * p['params'] / 2 ** 20)
                    for p in _memory()['curve'] if p['mode'] == 'hybrid')
    (l1, m1), (l2, m2) = points[:2]
    return (m1 + (layers - l1) * (m2 - m1) / (l2 - l1)) / _quadratic_fit_at(layers)


def _largest_batch_224(gib: float = 8) -> int:
    """The measured step at 224 px grown by the measured MiB per extra image until ``gib`` GiB."""
    rows = [(r['batch_size'], r['step_mib']) for r in _memory()['at_224'] if r['image_size'] == 224]
    (b1, m1), (b2, m2) = min(rows), max(rows)
    return int(b1 + (gib * 1024 - m1) / ((m2 - m1) / (b2 - b1)))


def _k16(key: str) -> float:
    from .model_zoo import lesson_densenet
    from .summary import costs
    narrow, lesson = costs(lesson_densenet(growth_rate=16)), costs(lesson_densenet())
    return narrow['params'] if key == 'params' else narrow['activations MiB'] / lesson['activations MiB']


# ---- the exercises -------------------------------------------------------------------------------
EXERCISES: dict[str, Exercise] = {
    # 01 Dense blocks
    '01.1': ask("(d2l) Design an MLP that applies the DenseNet idea: write `DenseMLPBlock(num_layers, growth)`, "
                "a block of `num_layers` dense layers of `growth` units whose forward pass concatenates each "
                "layer's input and output on the feature axis.",
                "the input passes through untouched and every layer adds its features, so the last layer reads "
                "the raw features and every learned one.",
                DenseMLPBlock=Code(_dense_mlp_test, _is_block_class, 'a class derived from nn.Block or nn.HybridBlock')),
    '01.2': ask('A dense block has 64 input channels, growth rate 32 and 6 conv blocks. How many channels does it '
                'output, and how many does its last conv block see?',
                'the block outputs c0 + L k channels; conv block l sees c0 + (l - 1) k.',
                out_channels=Whole(lambda: _dense_block('output channels'),
                                   'every conv block adds the growth rate to all it receives: start from 64.'),
                last_sees=Whole(lambda: _dense_block('sees channels'),
                                'the last conv block sees the input and the outputs of the five before it.')),
    '01.3': ask('A 3x3 convolution without padding gets an 8 x 8 input: what height and width does it output? '
                'Why can a dense block not concatenate that output with its input?',
                'without padding the window fits in fewer positions, and concatenation needs equal height and width.',
                size=Whole(_unpadded_size, 'count the positions where a 3 x 3 window fits inside 8 x 8.')),
    '01.4': ask('Count the 3x3 convolution weights of the block of exercise 2, and of a plain chain of six '
                '32-channel 3x3 convolutions after the same 64-channel input. How do the weights of a dense '
                'block grow with the number of conv blocks L?',
                'conv block l has 9 k (c0 + (l - 1) k) weights; summed over l that is quadratic in L.',
                block_weights=Whole(_block_weights, 'add 9 x 32 x (channels it sees) over the six conv blocks.'),
                chain_weights=Whole(_chain_weights, 'in the chain, each convolution sees only its predecessor.'),
                growth=Choice(('linear', 'quadratic', 'exponential'), 'dee622f60598',
                              'the l-th term grows linearly with l; what does a sum of such terms do?')),
    # 02 Transition layers
    '02.1': ask('(d2l) Why do transition layers use average pooling rather than max pooling? How many of the 16 '
                'inputs of a 4 x 4 map receive a gradient through a 2x2 max pooling of stride 2?',
                'max pooling passes on one input per window, so only those receive a gradient.',
                max_pool_inputs=Whole(lambda: _inputs_with_gradient('max'),
                                      'a max pooling window sends its gradient to the one input it picked.')),
    '02.2': ask("A transition's 1x1 convolution and its 2x2 average pooling can be swapped: measure the largest "
                'difference between the two orders on a random input, and say how many times fewer FLOPs '
                'the convolution needs when the pooling comes first.',
                'both are linear maps on different axes, so they commute; pooling first leaves a quarter of the positions.',
                difference=Between(lambda: (0.0, 1e-4), 'compare pool(conv(x)) with conv(pool(x)): the largest '
                                   'absolute difference should be at the level of float32 rounding.'),
                flops_ratio=Number(_pool_first_saving, 'a 2x2 pooling of stride 2 keeps one position of every 2 x 2.')),
    '02.3': ask('After a dense block with 192 output channels, which compression factor theta makes the '
                'transition output exactly 64 channels (the width of the first convolution)?',
                'floor(theta x 192) = 64 for every theta from 1/3 up to (not including) 65/192.',
                theta=Between(_theta_bounds, 'the transition keeps floor(theta x 192) channels.')),
    '02.4': ask('What happens with theta = 0.001 after a block with 192 channels: how many channels would the '
                'transition keep? What should the code do then?',
                'floor(0.192) = 0: a layer with no channels is meaningless, so the code should refuse it and say why.',
                channels=Whole(lambda: _kept_channels(0.001, 192), 'the transition keeps floor(theta x 192) channels.'),
                should=Choice(('raise an error', 'keep 0 channels', 'keep 1 channel'), '69aede475d7c',
                              'would a layer with no output channels compute anything a later layer could use?')),
    # 03 The DenseNet model
    '03.1': ask("(d2l) Why has DenseNet fewer parameters than ResNet? Count the weights of one 3x3 convolution of "
                "ResNet-18's last stage (512 to 512 channels) and of a DenseNet conv block of growth rate 32 that "
                'sees 512 channels.',
                "a conv block's weights grow with the channels it outputs, and DenseNet's output only k = 32.",
                resnet_conv=Whole(lambda: _conv3x3_weights(512, 512), 'a 3x3 convolution has 3 x 3 x in x out weights.'),
                dense_conv=Whole(lambda: _conv3x3_weights(512, 32), 'a DenseNet conv block outputs only the growth rate.')),
    '03.2': ask('(d2l) Is the memory of DenseNet really high? How many MiB of activations does one 224 x 224 '
                'image produce in the lesson\'s model (one decimal), and how many times those of a 96 x 96 image?',
                'activations grow with the pixels: (224 / 96)^2 is about 5.4.',
                mib_224=Number(lambda: _mib_per_image(224), 'costs(densenet(), image_size=224) counts them.', rel=0.01),
                times_96=Number(lambda: _mib_per_image(224) / _mib_per_image(96),
                                'divide by the activations of a 96 x 96 image.', rel=0.02)),
    '03.3': ask('(d2l) Build the DenseNet-169 layout of the paper\'s Table 1, (6, 12, 32, 32) conv blocks, with '
                "`densenet`, for ImageNet's 3-channel images and 1000 classes.",
                'the layout changes the depth only; growth rate 32 and the halving transitions stay.',
                densenet169=Code(_densenet169_test, _is_hybrid_block, 'a network (a HybridBlock), e.g. densenet(...)')),
    '03.4': ask("The deck's model has 224,280 more parameters than the corrected one. Which is the first layer "
                'whose parameters differ? Why did the deck\'s model still train without an error?',
                'the second transition gets the intended 224 channels but outputs 160 instead of 112; '
                'Gluon infers every input size, so nothing fails.',
                first_layer=Choice(('transition 1', 'dense block 2', 'transition 2', 'dense block 3', 'the dense layer'),
                                   'e77602d20e43', 'find the first transition whose output the deck sizes from a '
                                   'counter that was never halved.')),
    '03.5': ask('What is the smallest input size for a DenseNet with 3 dense blocks? With 5?',
                'the stem divides by 4 (rounding up), each of the n - 1 transitions by 2: 2^(n+1) - 3.',
                three_blocks=Whole(lambda: _smallest_input(3), 'work backwards: the last transition needs 2 x 2.'),
                five_blocks=Whole(lambda: _smallest_input(5), 'each extra transition doubles what the stem must leave.')),
    # 04 Training
    '04.1': ask('Train the CPU recipe with the learning rates 0.05, 0.2 and 0.8 (`experiment(lr=0.8)`). Does any '
                "of them diverge? How far apart do the final test accuracies of 0.05, 0.1 (the recipe's), 0.2 and "
                '0.8 end? Why can a network with batch normalization take such large steps?',
                'with batch normalization and a rate that decays to zero, even 8 times the rate trains.',
                diverged=Choice(('none', '0.05', '0.2', '0.8', 'several'), None,
                                'a diverged run stops early, and train says so.', reference=_diverged),
                spread=Choice(('less than 1 point', '1 to 5 points', 'more than 5 points'), None,
                              'subtract the lowest final test accuracy from the highest (a point is 0.01).',
                              reference=_lr_spread)),
    '04.2': ask('Train with batch size 64 and with 512 at the same learning rate (`experiment(batch_size=64)`). '
                'How many updates does an epoch take with each? How do the time per epoch and the accuracy change?',
                'an epoch is one pass over the 60,000 training images, one update per batch.',
                updates_64=Whole(lambda: _updates_per_epoch(64), 'divide the training images by the batch size, '
                                 'and count the last, smaller batch too.'),
                updates_512=Whole(lambda: _updates_per_epoch(512), 'divide the training images by the batch size, '
                                  'and count the last, smaller batch too.')),
    '04.3': ask('How much of the work of a 96 px image is an image at 64 px, and one at the 32 px of the CPU '
                'recipe (forward FLOPs)?',
                'the work grows with the number of pixels: (64/96)^2 and (32/96)^2.',
                at_64=Number(lambda: _work_of_96(64), 'compare the pixels of the two sizes.'),
                at_32=Number(lambda: _work_of_96(32), 'compare the pixels of the two sizes.')),
    '04.4': ask("Train the deck's uncorrected model with the same recipe (`experiment(model='densenet-deck')`). "
                'How many times the parameters of the corrected model has it, and does the bug cost accuracy, '
                'gain accuracy, or stay within the spread of seeds?',
                "the extra width sits where the maps are small, and seeds move the result as much as the bug.",
                params_ratio=Number(_deck_params_ratio, 'divide the two parameter counts of notebook 03.', rel=0.01),
                accuracy=Choice(('costs accuracy', 'gains accuracy', 'within the spread of seeds'), None,
                                'compare the difference of the means with how far the seeds of each spread.',
                                reference=_deck_model_accuracy)),
    # 05 Beyond the deck
    '05.1': ask('From which input width c on does the bottleneck of DenseNet-B save parameters in a dense layer '
                'with growth rate k = 32 (count the batch normalizations too)?',
                'weights alone: 9ck > 4kc + 36k^2 when c > 7.2k; the batch normalizations add a little.',
                channels=Whole(_bottleneck_pays_from, 'compare 9ck with 4kc + 36k^2, then add the batch norms.')),
    '05.2': ask("DenseNet-BC at the deck's size (4 layers per block, k = 32) has more parameters than the lesson's "
                'DenseNet-C. Which layers cost more, and from how many layers per block on is DenseNet-BC smaller?',
                'in short blocks the layers see fewer than 7.2k channels, where a 4k bottleneck costs more than it saves.',
                costly=Choice(('the 1x1 bottlenecks', 'the 3x3 convolutions', 'the transitions', 'the stem'),
                              'debe78099309', 'which layers does DenseNet-B add?'),
                layers=Whole(_bc_smaller_from, 'count the parameters of both for 5, 6, 7, ... layers per block.')),
    '05.3': ask('Using the quadratic fit of the hybridized curve, predict the activation memory (MiB) of a step '
                'with 48 layers per block. What share of it would a linear-memory implementation keep, if the '
                'line through the first two measured points held?',
                'memory that grows by the same amount per layer falls far behind a quadratic at 48 layers.',
                mib=Number(lambda: _quadratic_fit_at(48), 'evaluate the fit at 48.', rel=0.01),
                share=Number(lambda: _linear_share_at(48), 'extend the line through the first two points to 48.',
                             rel=0.05)),
    '05.4': ask("Add the lesson's model with growth rate 16 to the comparison (one line in MODELS). How many "
                'parameters has it, and what share of the activations of the growth-32 model?',
                "the stem's 64 channels at 48 x 48 and 24 x 24 do not shrink with the growth rate.",
                params=Whole(lambda: int(_k16('params')), 'read the params column of its row.'),
                activation_share=Number(lambda: _k16('share'), 'divide its activations by those of densenet.',
                                        rel=0.03)),
    '05.5': ask('By the measurement, what is the largest batch whose training step at 224 x 224 fits in 8 GiB?',
                'memory grows by a fixed amount per image from the measured point.',
                batch=Whole(lambda: _largest_batch_224(), 'grow the measured point by the MiB per image until 8 GiB.')),
}
