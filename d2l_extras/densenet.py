"""The lesson's DenseNet code: conv_block, DenseBlock, transition_block and the model builder.

Every block starting with ``#@save`` is a byte-for-byte twin of a cell in notebooks 01-03
(``tests/test_twins.py`` fails when they drift). The input checks above them are extra code.
Written in MXNet's NumPy interface as d2l 1.0 is; call ``npx.set_np()`` before using them.
"""
from __future__ import annotations

from typing import Sequence

from mxnet import np, npx
from mxnet.gluon import nn

STEM_CHANNELS = 64   # output channels of the deck's 7x7 stem convolution


# extra code – input checks shared by the lesson code, the explorers and the layer table
def check_count(name: str, value: object, low: int = 1, high: int | None = None) -> int:
    """Return ``value`` if it is an int in [low, high], else raise a ValueError naming ``name``."""
    valid = isinstance(value, int) and not isinstance(value, bool)
    if not valid or value < low or (high is not None and value > high):
        what = (f'an integer from {low} to {high}' if high is not None
                else f'a positive integer ({low} or more)')
        raise ValueError(f'{name} must be {what}, got {value!r}')
    return value


def check_counts(name: str, values: Sequence[int]) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it is a non-empty sequence of positive integers."""
    if isinstance(values, (str, bytes)) or not hasattr(values, '__len__') or len(values) == 0:
        raise ValueError(f'{name} must be a non-empty sequence of positive integers, got {values!r}')
    for i, n in enumerate(values):
        check_count(f'{name}[{i}]', n)
    return tuple(values)


def check_convs_per_block(convs_per_block: Sequence[int]) -> tuple[int, ...]:
    """Return ``convs_per_block`` as a tuple if it is a non-empty sequence of positive integers."""
    return check_counts('convs_per_block', convs_per_block)


def spatial_sizes(input_size: int, num_blocks: int = 4) -> list[tuple[str, int]]:
    """Height (= width) after each down-sampling stage of the deck's DenseNet, as (stage, size).

    The stem halves twice (7x7/2 conv, padding 3; 3x3/2 max-pool, padding 1), every transition once
    (2x2/2 average pool); a size that reaches 0 means the stage cannot run.
    """
    check_count('input_size', input_size)
    check_count('num_blocks', num_blocks)
    size = (input_size - 1) // 2 + 1              # 7x7 conv, stride 2, padding 3
    stages = [('input', input_size), ('7x7/2 conv', size)]
    size = (size - 1) // 2 + 1                    # 3x3 max-pool, stride 2, padding 1
    stages.append(('3x3/2 max-pool', size))
    for t in range(1, num_blocks):
        size //= 2                                # 2x2 average pool, stride 2
        stages.append((f'transition {t}', size))
    return stages


def min_input_size(num_blocks: int = 4) -> int:
    """Smallest input height/width (px) that every stage of the deck's DenseNet can process."""
    size = 1
    while spatial_sizes(size, num_blocks)[-1][1] < 1:
        size += 1
    return size


def check_input_shape(shape: Sequence[int], num_blocks: int = 4) -> None:
    """Raise a ValueError explaining the spatial sizes if ``shape`` cannot go through the network."""
    if len(shape) != 4:
        raise ValueError('input must have rank 4 (batch, channels, height, width), '
                         f'got shape {tuple(shape)} of rank {len(shape)}')
    smallest = min_input_size(num_blocks)
    for name, size in zip(('height', 'width'), shape[2:]):
        if size < smallest:
            path = ' -> '.join(f'{s} ({stage})' for stage, s in spatial_sizes(size, num_blocks))
            raise ValueError(
                f'input {name} must be at least {smallest} px for a DenseNet with {num_blocks} '
                f'dense blocks, got {size}: the spatial size goes {path}, and a 2x2 pooling window '
                f'cannot fit in less than 2x2 (the deck resizes Fashion-MNIST to 96 px)')


class CheckedSequential(nn.HybridSequential):
    """An nn.HybridSequential that checks the input shape before MXNet sees it (hybridized too)."""
    def __init__(self, num_blocks: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.num_blocks = check_count('num_blocks', num_blocks)

    def forward(self, x, *args):
        if hasattr(x, 'shape'):   # symbols (when nested in a hybridized net) have no shape
            check_input_shape(x.shape, self.num_blocks)
        return super().forward(x, *args)


#@save
def conv_block(num_channels):
    """BN-ReLU-Conv3x3: the convolution block of a dense block."""
    check_count('num_channels', num_channels)  # extra code – a clear error for bad input
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(num_channels, kernel_size=3, padding=1))
    return blk


#@save
def concat_channels(F, X, Y):
    """Concatenate X and Y on the channel axis (axis 1 in NCHW): the deck's nd.concat(X, Y, dim=1)."""
    # MXNet 1.9's np.concatenate has no oneDNN kernel on CPU and the legacy concat has: training
    # runs about 25% faster with it (benchmarks/RESULTS.md). as_nd_ndarray() and as_np_ndarray()
    # switch between the two interfaces without copying.
    return F.concat(X.as_nd_ndarray(), Y.as_nd_ndarray(), dim=1).as_np_ndarray()


#@save
class DenseBlock(nn.HybridBlock):
    """num_convs conv blocks; each one sees the concatenation of all earlier outputs."""
    def __init__(self, num_convs, num_channels, **kwargs):
        super().__init__(**kwargs)
        check_count('num_convs', num_convs)  # extra code – a clear error for bad input
        self.net = nn.HybridSequential()
        for _ in range(num_convs):
            self.net.add(conv_block(num_channels))

    def hybrid_forward(self, F, X):
        for blk in self.net:
            Y = blk(X)
            # Concatenate the input and output of each block on the channel dimension
            X = concat_channels(F, X, Y)
        return X


#@save
def transition_block(num_channels):
    """BN-ReLU-Conv1x1-AvgPool2x2: fewer channels, half the height and width."""
    check_count('num_channels', num_channels)  # extra code – a clear error for bad input
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(num_channels, kernel_size=1),
            nn.AvgPool2D(pool_size=2, strides=2))
    return blk


#@save
def densenet(growth_rate=32, convs_per_block=(4, 4, 4, 4), num_classes=10, fixed=True):
    """The deck's DenseNet; fixed=False keeps its bug (channels not halved after a transition)."""
    check_count('growth_rate', growth_rate)  # extra code – clear errors for bad input
    check_convs_per_block(convs_per_block)
    check_count('num_classes', num_classes)
    net = CheckedSequential(len(convs_per_block))  # extra code – nn.HybridSequential + input check
    net.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    num_channels = 64  # the current number of channels
    for i, num_convs in enumerate(convs_per_block):
        net.add(DenseBlock(num_convs, growth_rate))
        num_channels += num_convs * growth_rate
        if i != len(convs_per_block) - 1:  # halve the channels between dense blocks
            net.add(transition_block(num_channels // 2))
            if fixed:  # the deck forgets this line
                num_channels //= 2
    net.add(nn.BatchNorm(), nn.Activation('relu'), nn.GlobalAvgPool2D(),
            nn.Dense(num_classes))
    return net


def channel_path(growth_rate: int = 32, convs_per_block: Sequence[int] = (4, 4, 4, 4),
                 fixed: bool = True) -> list[tuple[str, int]]:
    """Output channels after the stem, each dense block and each transition, as (stage, channels)."""
    check_count('growth_rate', growth_rate)
    convs_per_block = check_convs_per_block(convs_per_block)
    counted = channels = STEM_CHANNELS     # what the builder counts / what really flows
    path = [('stem', channels)]
    for i, num_convs in enumerate(convs_per_block):
        channels += num_convs * growth_rate
        counted += num_convs * growth_rate
        path.append((f'dense block {i + 1}', channels))
        if i != len(convs_per_block) - 1:
            channels = counted // 2
            counted = channels if fixed else counted
            path.append((f'transition {i + 1}', channels))
    return path


def count_parameters(net: nn.Block, trainable_only: bool = True) -> int:
    """Number of (trainable) parameter values of an initialized net."""
    return sum(p.data().size for p in net.collect_params().values()
               if not trainable_only or p.grad_req != 'null')
