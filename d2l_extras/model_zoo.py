"""DenseNet for any size: bottleneck (B), compression (C), the ImageNet stem, named variants.

The general builder in the style of torchvision's and GluonCV's ``densenet.py``: one small
class per idea and one constructor, of which DenseNet-121/169/201/264 and the deck's model
are one-line calls. The lesson's simpler code lives in ``d2l_extras.densenet``.

    >>> net = densenet121()                  # 7,978,856 trainable parameters at 1000 classes
    >>> net = deck_densenet()                # the deck's model (corrected), 10 classes
"""
from __future__ import annotations

from typing import Sequence

from mxnet.gluon import nn

from .densenet import check_count, concat_channels, count_parameters  # noqa: F401 (count_parameters: re-exported)

STEMS = ('imagenet', 'cifar')
# The paper's Table 1: convs per dense block of DenseNet-121/169/201/264 (k = 32, bottleneck, theta = 0.5).
BLOCK_CONFIGS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32), 264: (6, 12, 64, 48)}


def _check_compression(compression) -> None:
    """Raise a ValueError unless 0 < compression <= 1."""
    if isinstance(compression, bool) or not isinstance(compression, (int, float)) \
            or not 0 < compression <= 1:
        raise ValueError(f"compression must be a number in (0, 1], got {compression!r}")


def _check_bn_size(bn_size) -> None:
    """Raise a ValueError unless ``bn_size`` is None (no bottleneck) or a positive int."""
    if bn_size is not None:
        if isinstance(bn_size, bool) or not isinstance(bn_size, int) or bn_size < 1:
            raise ValueError(f"bn_size must be None (no bottleneck) or a positive integer "
                             f"(1 or more), got {bn_size!r}")


def _bn_relu_conv(channels: int, kernel_size: int, use_bias: bool) -> list:
    """BN-ReLU-Conv, the pre-activation order DenseNet uses everywhere."""
    return [nn.BatchNorm(), nn.Activation('relu'),
            nn.Conv2D(channels, kernel_size, padding=kernel_size // 2, use_bias=use_bias)]


class DenseLayer(nn.HybridSequential):
    """One layer of a dense block: [BN-ReLU-Conv1x1 to bn_size*k,] BN-ReLU-Conv3x3 to k maps."""

    def __init__(self, growth_rate: int, bn_size: int | None = 4, use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_count('growth_rate', growth_rate)
        _check_bn_size(bn_size)
        if bn_size is not None:                      # DenseNet-B: the 1x1 bottleneck
            self.add(*_bn_relu_conv(bn_size * growth_rate, 1, use_bias))
        self.add(*_bn_relu_conv(growth_rate, 3, use_bias))


class DenseBlockBC(nn.HybridBlock):
    """``num_layers`` DenseLayers; each one's output is concatenated to its input on the channels."""

    def __init__(self, num_layers: int, growth_rate: int, bn_size: int | None = 4,
                 use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_count('num_layers', num_layers)
        self.net = nn.HybridSequential()
        for _ in range(num_layers):
            self.net.add(DenseLayer(growth_rate, bn_size, use_bias))

    def hybrid_forward(self, F, x):
        for layer in self.net:
            x = concat_channels(F, x, layer(x))
        return x


class Transition(nn.HybridSequential):
    """BN-ReLU-Conv1x1 to ``channels`` (theta * input channels for DenseNet-C), then 2x2 average pooling."""

    def __init__(self, channels: int, use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_count('channels', channels)
        self.add(*_bn_relu_conv(channels, 1, use_bias), nn.AvgPool2D(pool_size=2, strides=2))


def _stem(stem: str, channels: int, use_bias: bool) -> list:
    """ImageNet: 7x7/2 conv, BN, ReLU, 3x3/2 max-pool (a quarter of the size); CIFAR: one 3x3 conv."""
    if stem == 'imagenet':
        return [nn.Conv2D(channels, 7, strides=2, padding=3, use_bias=use_bias),
                nn.BatchNorm(), nn.Activation('relu'), nn.MaxPool2D(pool_size=3, strides=2, padding=1)]
    return [nn.Conv2D(channels, 3, padding=1, use_bias=use_bias)]


def transition_channels(channels: int, compression: float) -> int:
    """Channels out of a transition layer: floor(theta * channels), as in the paper."""
    check_count('channels', channels)
    _check_compression(compression)
    return int(channels * compression)


class DenseNet(nn.HybridBlock):
    """DenseNet(-B/-C/-BC): stem, dense blocks joined by transitions, BN-ReLU-global-pool-Dense.

    Args:
        growth_rate: k, the feature maps each layer adds.
        block_config: layers in each dense block, e.g. (6, 12, 24, 16) for DenseNet-121.
        num_init_features: channels out of the stem.
        bn_size: bottleneck width as a multiple of k (DenseNet-B); None for no bottleneck.
        compression: theta in (0, 1]; a transition keeps floor(theta * channels) (DenseNet-C if < 1).
        num_classes: outputs of the last Dense layer.
        stem: 'imagenet' (7x7/2 conv, BN, ReLU, 3x3/2 max-pool) or 'cifar' (one 3x3 conv).
        use_bias: biases in the convolutions (False as in torchvision; Gluon's default is True).
    """

    def __init__(self, growth_rate: int = 32, block_config: Sequence[int] = (6, 12, 24, 16),
                 num_init_features: int = 64, bn_size: int | None = 4, compression: float = 0.5,
                 num_classes: int = 1000, stem: str = 'imagenet', use_bias: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_count('growth_rate', growth_rate)
        if isinstance(block_config, (str, bytes)) or not isinstance(block_config, Sequence) \
                or len(block_config) == 0:
            raise ValueError(f"block_config must be a non-empty sequence of positive integers "
                             f"(layers per dense block), got {block_config!r}")
        for i, n in enumerate(block_config):
            check_count(f'block_config[{i}]', n)
        check_count('num_init_features', num_init_features)
        _check_bn_size(bn_size)
        _check_compression(compression)
        check_count('num_classes', num_classes)
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        if not isinstance(use_bias, bool):
            raise ValueError(f"use_bias must be True or False, got {use_bias!r}")
        self.stem_name, self.block_config = stem, tuple(block_config)
        self.features = nn.HybridSequential()
        self.features.add(*_stem(stem, num_init_features, use_bias))
        channels = num_init_features
        self.channels = [channels]                   # channels after the stem, each block, each transition
        for i, num_layers in enumerate(block_config):
            self.features.add(DenseBlockBC(num_layers, growth_rate, bn_size, use_bias))
            channels += num_layers * growth_rate
            self.channels.append(channels)
            if i != len(block_config) - 1:
                channels = int(channels * compression)
                if channels < 1:
                    raise ValueError(f"compression must keep at least 1 channel in every transition "
                                     f"(compression in (0, 1], large enough), got {compression!r}")
                self.features.add(Transition(channels, use_bias))
                self.channels.append(channels)
        self.features.add(nn.BatchNorm(), nn.Activation('relu'), nn.GlobalAvgPool2D())
        self.output = nn.Dense(num_classes)

    @property
    def min_input_size(self) -> int:
        """Smallest height/width that survives the stem and every 2x2 pooling of the transitions."""
        size = 2 ** (len(self.block_config) - 1)     # before the first transition, >= 1 after all
        if self.stem_name == 'imagenet':             # 7x7/2 conv and 3x3/2 pool: ceil(h/2) twice
            size = 4 * size - 3
        return max(size, 1)

    def forward(self, x, *args):
        """Check the input (rank 4, at least ``min_input_size`` pixels) before MXNet sees it."""
        shape = getattr(x, 'shape', None)
        if shape is not None:
            if len(shape) != 4:
                raise ValueError(f"x must be a 4-D batch (N, C, H, W), got shape {shape}")
            if min(shape[2:]) < self.min_input_size:
                raise ValueError(f"x height and width must be at least {self.min_input_size} px for "
                                 f"this DenseNet ({len(self.block_config)} blocks, {self.stem_name} "
                                 f"stem), got {shape[2]}x{shape[3]}")
        return super().forward(x, *args)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def densenet(depth: int, num_classes: int = 1000, **kwargs) -> DenseNet:
    """DenseNet-121/169/201/264 of the paper's Table 1 (k = 32, bottleneck 4k, theta = 0.5)."""
    if depth not in BLOCK_CONFIGS:
        raise ValueError(f"depth must be one of {sorted(BLOCK_CONFIGS)}, got {depth!r}")
    return DenseNet(32, BLOCK_CONFIGS[depth], 64, 4, 0.5, num_classes, **kwargs)


def densenet121(**kwargs) -> DenseNet:
    """DenseNet-121: 7,978,856 trainable parameters at 1000 classes."""
    return densenet(121, **kwargs)


def densenet169(**kwargs) -> DenseNet:
    """DenseNet-169: 14,149,480 trainable parameters at 1000 classes."""
    return densenet(169, **kwargs)


def densenet201(**kwargs) -> DenseNet:
    """DenseNet-201: 20,013,928 trainable parameters at 1000 classes."""
    return densenet(201, **kwargs)


def densenet264(**kwargs) -> DenseNet:
    """DenseNet-264 (the paper's largest ImageNet model; not in torchvision)."""
    return densenet(264, **kwargs)


def deck_densenet(num_classes: int = 10, growth_rate: int = 32,
                  block_config: Sequence[int] = (4, 4, 4, 4)) -> DenseNet:
    """The 2019 deck's model, corrected (transitions halve the channels): no bottleneck, biases on."""
    return DenseNet(growth_rate, block_config, 64, None, 0.5, num_classes, 'imagenet', use_bias=True)


def densenet_bc(num_classes: int = 10, growth_rate: int = 12,
                block_config: Sequence[int] = (4, 4, 4, 4)) -> DenseNet:
    """A small DenseNet-BC for Fashion-MNIST: deck stem, bottleneck 4k, theta = 0.5, k = 12."""
    return DenseNet(growth_rate, block_config, 2 * growth_rate, 4, 0.5, num_classes, 'imagenet')


class Residual(nn.HybridBlock):
    """d2l's residual block, hybridizable: Conv-BN-ReLU-Conv-BN, plus x (1x1 conv when the shape changes), ReLU."""

    def __init__(self, channels: int, strides: int = 1, use_1x1conv: bool = False, **kwargs):
        super().__init__(**kwargs)
        check_count('channels', channels)
        self.conv1 = nn.Conv2D(channels, 3, strides=strides, padding=1)
        self.bn1 = nn.BatchNorm()
        self.conv2 = nn.Conv2D(channels, 3, padding=1)
        self.bn2 = nn.BatchNorm()
        self.conv3 = nn.Conv2D(channels, 1, strides=strides) if use_1x1conv else None

    def hybrid_forward(self, F, x):
        y = self.bn2(self.conv2(F.npx.relu(self.bn1(self.conv1(x)))))
        if self.conv3 is not None:
            x = self.conv3(x)
        return F.npx.relu(x + y)


def resnet(num_classes: int = 10, widths: Sequence[int] = (64, 128, 256, 512),
           num_residuals: Sequence[int] = (2, 2, 2, 2), stem: str = 'imagenet') -> nn.HybridSequential:
    """ResNet from d2l's residual blocks; ``stem='cifar'`` with the defaults is ``d2l.resnet18``.

    With the ImageNet stem (the one DenseNet uses) the defaults are ResNet-18 as in the ResNet
    paper, and ``widths=(16, 32, 64, 128)`` is a ResNet-18 of about the deck DenseNet's size.
    """
    check_count('num_classes', num_classes)
    if stem not in STEMS:
        raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
    if len(widths) == 0 or len(widths) != len(num_residuals):
        raise ValueError(f"widths and num_residuals must be non-empty and of equal length, "
                         f"got {len(widths)} and {len(num_residuals)}")
    for i, (w, n) in enumerate(zip(widths, num_residuals)):
        check_count(f'widths[{i}]', w)
        check_count(f'num_residuals[{i}]', n)
    net = nn.HybridSequential()
    if stem == 'imagenet':
        net.add(*_stem(stem, widths[0], True))
    else:                                            # d2l.resnet18: 3x3 conv, BN, ReLU, no pooling
        net.add(nn.Conv2D(widths[0], 3, padding=1), nn.BatchNorm(), nn.Activation('relu'))
    for i, (w, n) in enumerate(zip(widths, num_residuals)):
        stage = nn.HybridSequential()
        for j in range(n):
            first = j == 0 and i > 0                 # halve the size and change width
            stage.add(Residual(w, strides=2 if first else 1, use_1x1conv=first))
        net.add(stage)
    net.add(nn.GlobalAvgPool2D(), nn.Dense(num_classes))
    return net
