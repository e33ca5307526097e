"""The numbers of a DenseNet, and the checks that keep them sane: one rule per idea, used everywhere.

- limits: the largest value every size may take (enough for every model of the paper, small enough for
  a laptop and for an explorer that answers within a second);
- ``check_*``: argument checks that raise a ValueError naming the parameter, the value and the range;
- spatial arithmetic: the height/width after each stage and the smallest input a DenseNet accepts;
- the compression rule of a transition layer, and the one count of trainable parameters.

The lesson's code (``d2l_extras.densenet``) has no checks, as the deck had none: everything else in
``d2l_extras`` checks its arguments here before it calls the lesson's code.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

MAX_GROWTH_RATE = 256      # new channels per conv block (the paper: 12 to 48)
MAX_CONVS = 64             # conv blocks in one dense block (DenseNet-264's longest block: 64)
MAX_BLOCKS = 8             # dense blocks in a model (the paper: 3 or 4)
MAX_CHANNELS = 4096        # channels entering a layer (DenseNet-264 ends with 2,688)
MAX_IMAGE_SIZE = 1024      # input height/width in pixels, also the largest resize
MAX_CLASSES = 100_000      # outputs of the last layer
MAX_BATCH = 4096           # images in one batch
STEMS = ('imagenet', 'cifar')   # 7x7/2 conv + 3x3/2 max-pool (the deck's) / one 3x3 conv (the paper's CIFAR models)


def shown(value: object) -> str:
    """A value as an error message shows it: its repr, and its type where the repr hides it (NumPy, MXNet)."""
    if type(value) in (int, float, str, bool, type(None), list, tuple, dict):
        return repr(value)
    return f'{value!r} ({type(value).__module__}.{type(value).__qualname__})'


def check_int(name: str, value: object, low: int = 1, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer (Python's or NumPy's, not a bool) in [low, high], else raise
    a ValueError naming ``name`` and the range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or \
            (high is not None and value > high):
        where = f'from {low:,} to {high:,}' if high is not None else f'of at least {low:,}'
        raise ValueError(f'{name} must be an integer {where}, got {shown(value)}')
    return int(value)


def check_real(name: str, value: object, low: float, high: float = math.inf,
               low_open: bool = False, high_open: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number (Python's or NumPy's, not a bool) in the range,
    else raise a ValueError naming ``name`` and the range (``low_open``: low itself excluded; ``high_open`` too)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        where = (f"{'>' if low_open else '>='} {low:g}" if high == math.inf else
                 f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}")
        raise ValueError(f'{name} must be a finite number {where}, got {shown(value)}')
    return float(value)


def check_ints(name: str, values: object, low: int = 1, high: int | None = None,
               max_len: int | None = None) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it is a non-empty sequence of ints in [low, high] (at most ``max_len``)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0 \
            or (max_len is not None and len(values) > max_len):
        most = f' of at most {max_len}' if max_len is not None else ''
        raise ValueError(f'{name} must be a non-empty sequence{most} integers, got {values!r}')
    return tuple(check_int(f'{name}[{i}]', v, low, high) for i, v in enumerate(values))


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False (not 0, 1 or a string), else raise a ValueError."""
    if not isinstance(value, bool):
        raise ValueError(f'{name} must be True or False, got {shown(value)}')
    return value


def check_fraction(name: str, value: object) -> float:
    """Return ``value`` if it is a real number in (0, 1], else raise a ValueError (e.g. theta)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(f'{name} must be a number in (0, 1], got {shown(value)}')
    return float(value)


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f'{name} must be one of {", ".join(map(repr, choices))}, got {value!r}')
    return value


def check_stem(stem: object) -> str:
    """Return ``stem`` if it is 'imagenet' (the deck's) or 'cifar', else raise a ValueError."""
    return check_choice('stem', stem, STEMS)


# ---- how the height and width shrink ---------------------------------------------------------------
def spatial_sizes(input_size: int, num_blocks: int = 4, stem: str = 'imagenet') -> list[tuple[str, int]]:
    """Height (= width) after each down-sampling stage, as (stage, size); 0 means the stage cannot run.

    With the deck's stem, the 7x7 convolution (stride 2, padding 3) and the 3x3 max-pool (stride 2,
    padding 1) both map n to ceil(n / 2); every transition's 2x2 average pool maps n to floor(n / 2).
    """
    check_int('input_size', input_size, high=MAX_IMAGE_SIZE)
    check_int('num_blocks', num_blocks, high=MAX_BLOCKS)
    check_stem(stem)
    stages = [('input', input_size)]
    if stem == 'imagenet':
        half = -(-input_size // 2)
        stages += [('7x7/2 conv', half), ('3x3/2 max-pool', -(-half // 2))]
    size = stages[-1][1]
    for t in range(1, num_blocks):
        size //= 2
        stages.append((f'transition {t}', size))
    return stages


def min_input_size(num_blocks: int = 4, stem: str = 'imagenet') -> int:
    """Smallest input height/width that every stage can process: 2^(n+1) - 3 with the deck's stem.

    The last of the n - 1 transitions needs 2 x 2 pixels, so the stem must leave 2^(n-1); with the
    deck's stem, ceil(ceil(h / 2) / 2) >= 2^(n-1) means h >= 4 * 2^(n-1) - 3.
    """
    check_int('num_blocks', num_blocks, high=MAX_BLOCKS)
    check_stem(stem)
    last = 2 ** (num_blocks - 1)
    return 4 * last - 3 if stem == 'imagenet' else last


def check_input_size(input_size: object, num_blocks: int = 4, stem: str = 'imagenet',
                     name: str = 'input_size') -> int:
    """Return ``input_size`` if a DenseNet with ``num_blocks`` dense blocks can process it, else explain why not."""
    smallest = min_input_size(num_blocks, stem)
    check_int(name, input_size, high=MAX_IMAGE_SIZE)
    if input_size < smallest:
        path = ' -> '.join(f'{s} ({stage})' for stage, s in spatial_sizes(input_size, num_blocks, stem))
        raise ValueError(
            f'{name} must be at least {smallest} px for a DenseNet with {num_blocks} dense blocks, got '
            f'{input_size}: the size goes {path}, and a 2x2 pooling window does not fit in 1x1')
    return input_size


# ---- channels ----------------------------------------------------------------------------------------
def transition_channels(channels: int, theta: float = 0.5) -> int:
    """Channels out of a transition layer: floor(theta x channels), the paper's compression rule.

    Computed as floor(round(theta x channels, 9)) so that 0.29 x 100 gives 29, not 28 (0.29 x 100 is
    28.999999999999996 in floating point); at least 1 channel must remain.
    """
    check_int('channels', channels, high=MAX_CHANNELS * 8)
    check_fraction('theta', theta)
    kept = math.floor(round(theta * channels, 9))
    if kept < 1:
        raise ValueError(f'theta x channels must leave at least 1 channel, got {theta!r} x {channels} = '
                         f'{theta * channels:g}; use theta >= {1 / channels:.3g}')
    return kept


def channel_path(growth_rate: int = 32, convs_per_block: Sequence[int] = (4, 4, 4, 4),
                 fixed: bool = True, stem_channels: int = 64) -> list[tuple[str, int]]:
    """Channels after the stem, each dense block and each transition of the lesson's model, as (stage, channels).

    ``fixed=False`` follows the deck's code, whose transitions are sized by a counter that is never halved.
    """
    growth_rate = check_int('growth_rate', growth_rate, high=MAX_GROWTH_RATE)
    convs_per_block = check_ints('convs_per_block', convs_per_block, high=MAX_CONVS, max_len=MAX_BLOCKS)
    check_bool('fixed', fixed)
    stem_channels = check_int('stem_channels', stem_channels, high=MAX_CHANNELS)
    counted = channels = stem_channels     # what the builder counts / what really flows
    path = [('stem', channels)]
    for i, num_convs in enumerate(convs_per_block):
        channels += num_convs * growth_rate
        counted += num_convs * growth_rate
        path.append((f'dense block {i + 1}', channels))
        if i != len(convs_per_block) - 1:
            channels = transition_channels(counted, 0.5)
            counted = channels if fixed else counted
            path.append((f'transition {i + 1}', channels))
    return path


# ---- parameters --------------------------------------------------------------------------------------
def count_parameters(block) -> int:
    """Trainable parameter values of a Gluon block whose shapes are known (run once, or ``infer_shape``)."""
    total = 0
    for param in block.collect_params().values():
        if param.grad_req == 'null':               # BatchNorm's running mean and variance
            continue
        if param.shape is None or any(d <= 0 for d in param.shape):
            raise ValueError(f'the shape of {param.name} is not known yet: run the net once on an input '
                             '(or use d2l_extras.summary.layer_table, which infers it)')
        total += math.prod(param.shape)
    return total
