"""Every model the notebooks and benchmarks build, by name, and the general DenseNet builder behind them.

``MODELS`` is the registry: ``{name: Model(description, build)}``. Notebook 05's comparisons,
``d2l_extras.memory``, ``benchmarks/memory.py`` and ``benchmarks/compare_training.py`` read it, so a
new variant is one line there. The lesson's model (as the deck wrote it, and corrected) comes from the
lesson's own code, ``d2l_extras.densenet``; everything else from ``DenseNet``, a general builder in the
style of torchvision's and GluonCV's ``densenet.py``: one small class per idea, one constructor with
named arguments, and the paper's models as entries of a table.

    >>> net = build('densenet121')                 # 7,978,856 trainable parameters at 1000 classes
    >>> net = build('densenet', growth_rate=16)    # the lesson's model, narrower
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable, Sequence

from mxnet.gluon import nn

from . import densenet as lesson
from .resnet import resnet
from .sizes import (MAX_BLOCKS, MAX_CHANNELS, MAX_CLASSES, MAX_CONVS, MAX_GROWTH_RATE, check_bool, check_choice,
                    check_fraction, check_input_size, check_int, check_ints, check_stem, transition_channels)

#: The paper's Table 1: conv blocks per dense block of its ImageNet models (k = 32, bottleneck 4k, theta = 0.5).
TABLE_1 = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32), 264: (6, 12, 64, 48)}


def lesson_densenet(growth_rate: int = 32, convs_per_block: Sequence[int] = (4, 4, 4, 4),
                    num_classes: int = 10, fixed: bool = True) -> nn.HybridSequential:
    """The lesson's ``densenet()`` (notebook 03), after checking its arguments; ``fixed=False`` is the deck's code."""
    check_int('growth_rate', growth_rate, high=MAX_GROWTH_RATE)
    convs_per_block = check_ints('convs_per_block', convs_per_block, high=MAX_CONVS, max_len=MAX_BLOCKS)
    check_int('num_classes', num_classes, high=MAX_CLASSES)
    check_bool('fixed', fixed)
    return lesson.densenet(growth_rate, convs_per_block, num_classes, fixed)


def _bn_relu_conv(channels: int, kernel_size: int, use_bias: bool) -> list[nn.HybridBlock]:
    """BN-ReLU-Conv, the pre-activation order DenseNet uses everywhere."""
    return [nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(channels, kernel_size, padding=kernel_size // 2, use_bias=use_bias)]


class DenseLayer(nn.HybridSequential):
    """One layer of a dense block: [BN-ReLU-Conv1x1 to bn_size x k (DenseNet-B),] BN-ReLU-Conv3x3 to k maps."""

    def __init__(self, growth_rate: int, bn_size: int | None = 4, use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_int('growth_rate', growth_rate, high=MAX_GROWTH_RATE)
        if bn_size is not None:
            check_int('bn_size', bn_size, high=16)
            self.add(*_bn_relu_conv(bn_size * growth_rate, 1, use_bias))
        check_bool('use_bias', use_bias)
        self.add(*_bn_relu_conv(growth_rate, 3, use_bias))


class _DenseBlock(nn.HybridBlock):
    """``num_layers`` DenseLayers; each one's output is concatenated to its input on the channel axis."""

    def __init__(self, num_layers: int, growth_rate: int, bn_size: int | None, use_bias: bool, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.HybridSequential()
        for _ in range(num_layers):
            self.net.add(DenseLayer(growth_rate, bn_size, use_bias))

    def hybrid_forward(self, F, x):
        for layer in self.net:
            x = F.np.concatenate((x, layer(x)), axis=1)
        return x


def _transition(channels: int, use_bias: bool) -> nn.HybridSequential:
    """BN-ReLU-Conv1x1 to ``channels``, then a 2x2 average pool of stride 2."""
    blk = nn.HybridSequential()
    blk.add(*_bn_relu_conv(channels, 1, use_bias), nn.AvgPool2D(pool_size=2, strides=2))
    return blk


def _stem(stem: str, channels: int, use_bias: bool) -> list[nn.HybridBlock]:
    """'imagenet': 7x7/2 conv, BN, ReLU, 3x3/2 max-pool (the deck's); 'cifar': one 3x3 conv (the paper's CIFAR models)."""
    if stem == 'imagenet':
        return [nn.Conv2D(channels, 7, strides=2, padding=3, use_bias=use_bias), nn.BatchNorm(),
                nn.Activation('relu'), nn.MaxPool2D(pool_size=3, strides=2, padding=1)]
    return [nn.Conv2D(channels, 3, padding=1, use_bias=use_bias)]


class DenseNet(nn.HybridBlock):
    """DenseNet(-B/-C/-BC): a stem, dense blocks joined by transitions, BN-ReLU-global pooling-Dense.

    Args (all by name):
        growth_rate: k, the feature maps each layer adds.
        block_config: layers in each dense block, e.g. (6, 12, 24, 16) for DenseNet-121.
        num_init_features: channels out of the stem.
        bn_size: bottleneck width as a multiple of k (DenseNet-B); None for no bottleneck.
        compression: theta in (0, 1]; a transition keeps floor(theta x channels) (DenseNet-C if < 1).
        num_classes: outputs of the last dense layer.
        stem: 'imagenet' (the deck's) or 'cifar' (one 3x3 convolution).
        use_bias: biases in the convolutions (False as in torchvision; Gluon's default and the deck's: True).
    """

    def __init__(self, *, growth_rate: int = 32, block_config: Sequence[int] = TABLE_1[121],
                 num_init_features: int = 64, bn_size: int | None = 4, compression: float = 0.5,
                 num_classes: int = 1000, stem: str = 'imagenet', use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_int('growth_rate', growth_rate, high=MAX_GROWTH_RATE)
        self.block_config = check_ints('block_config', block_config, high=MAX_CONVS, max_len=MAX_BLOCKS)
        check_int('num_init_features', num_init_features, high=MAX_CHANNELS)
        check_fraction('compression', compression)
        check_int('num_classes', num_classes, high=MAX_CLASSES)
        self.stem = check_stem(stem)
        check_bool('use_bias', use_bias)
        self.features = nn.HybridSequential()
        self.features.add(*_stem(stem, num_init_features, use_bias))
        channels = num_init_features
        self.channels = [channels]           # after the stem, each dense block and each transition
        for i, num_layers in enumerate(self.block_config):
            self.features.add(_DenseBlock(num_layers, growth_rate, bn_size, use_bias))
            channels += num_layers * growth_rate
            self.channels.append(channels)
            if i != len(self.block_config) - 1:
                channels = transition_channels(channels, compression)
                self.features.add(_transition(channels, use_bias))
                self.channels.append(channels)
        self.features.add(nn.BatchNorm(), nn.Activation('relu'), nn.GlobalAvgPool2D())
        self.output = nn.Dense(num_classes)

    def forward(self, x, *args):
        """Check the input's height and width (a clear error instead of MXNet's), then run the net."""
        shape = getattr(x, 'shape', None)    # symbols have none
        if shape is not None:
            if len(shape) != 4:
                raise ValueError(f'x must be a batch of images (N, C, H, W), got shape {tuple(shape)}')
            for name, size in zip(('height', 'width'), shape[2:]):
                check_input_size(size, len(self.block_config), self.stem, name=f'x {name}')
        return super().forward(x, *args)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


@dataclass(frozen=True)
class Model:
    """An entry of the registry: what the model is, a function that builds it (keyword overrides allowed),
    and whether notebook 05 and the benchmarks compare it (10 classes, 1-channel images)."""
    description: str
    build: Callable[..., nn.HybridBlock]
    compared: bool = False


MODELS: dict[str, Model] = {
    'densenet': Model("the lesson's DenseNet (notebook 03): k = 32, 4 x 4 conv blocks, transitions halve",
                      partial(lesson_densenet, fixed=True), compared=True),
    'densenet-deck': Model("the same model as the deck's code built it (its transitions do not halve)",
                           partial(lesson_densenet, fixed=False)),
    'densenet-bc': Model('a small DenseNet-BC: k = 12, 4 x 4 layers, bottleneck 4k, theta = 0.5',
                         partial(DenseNet, growth_rate=12, block_config=(4, 4, 4, 4), num_init_features=24,
                                 bn_size=4, compression=0.5, num_classes=10), compared=True),
    **{f'densenet{depth}': Model(f'DenseNet-{depth} of the paper (Table 1), 1000 classes',
                                 partial(DenseNet, block_config=layout))
       for depth, layout in TABLE_1.items()},
    'resnet18': Model('ResNet-18 of d2l residual blocks behind the DenseNet stem (7x7/2 conv, 3x3/2 max-pool)',
                      partial(resnet, num_classes=10), compared=True),
    'resnet18-quarter': Model('the same ResNet-18 at a quarter of the width (16, 32, 64, 128 channels)',
                              partial(resnet, num_classes=10, widths=(16, 32, 64, 128)), compared=True),
    'd2l-resnet18': Model("d2l's resnet18: a 3x3 stem without max-pool, made for small images",
                          partial(resnet, num_classes=10, stem='cifar'), compared=True),
}


def compared() -> list[str]:
    """The names of the models notebook 05 and the benchmarks compare, in the registry's order."""
    return [name for name, model in MODELS.items() if model.compared]


def build(name: str, **overrides) -> nn.HybridBlock:
    """The registered model ``name`` (see ``MODELS``), with keyword arguments of its builder overridden."""
    return MODELS[check_choice('name', name, MODELS)].build(**overrides)
