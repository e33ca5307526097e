"""ResNet for the comparisons with DenseNet: d2l's residual block, hybridizable, and a ResNet builder.

``resnet(stem='cifar')`` with the defaults is ``d2l.resnet18`` layer for layer (3x3 stem, no
max-pool), which d2l writes with plain ``Block``s; ``resnet()`` puts the same residual blocks behind
the stem the deck's DenseNet uses (7x7/2 conv, 3x3/2 max-pool), as the ResNet paper does.
"""
from __future__ import annotations

from typing import Sequence

from mxnet.gluon import nn

from .sizes import MAX_BLOCKS, MAX_CHANNELS, MAX_CLASSES, MAX_CONVS, check_bool, check_int, check_ints, check_stem


class Residual(nn.HybridBlock):
    """d2l's residual block: Conv-BN-ReLU-Conv-BN, plus x (a 1x1 conv when the shape changes), ReLU."""

    def __init__(self, num_channels: int, use_1x1conv: bool = False, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        check_int('num_channels', num_channels, high=MAX_CHANNELS)
        check_bool('use_1x1conv', use_1x1conv)
        check_int('strides', strides, high=4)
        self.conv1 = nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=strides)
        self.conv2 = nn.Conv2D(num_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2D(num_channels, kernel_size=1, strides=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm()
        self.bn2 = nn.BatchNorm()

    def hybrid_forward(self, F, X):
        Y = F.npx.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        return F.npx.relu(Y + X)


def resnet(num_classes: int = 10, widths: Sequence[int] = (64, 128, 256, 512),
           num_residuals: Sequence[int] = (2, 2, 2, 2), stem: str = 'imagenet') -> nn.HybridSequential:
    """A ResNet of d2l's residual blocks: ResNet-18 with the defaults.

    Args:
        num_classes: outputs of the last dense layer.
        widths: channels of each stage; every stage after the first halves height and width.
        num_residuals: residual blocks per stage.
        stem: 'imagenet' (7x7/2 conv, BN, ReLU, 3x3/2 max-pool) or 'cifar' (3x3 conv, BN, ReLU: d2l.resnet18).
    """
    check_int('num_classes', num_classes, high=MAX_CLASSES)
    widths = check_ints('widths', widths, high=MAX_CHANNELS, max_len=MAX_BLOCKS)
    num_residuals = check_ints('num_residuals', num_residuals, high=MAX_CONVS, max_len=MAX_BLOCKS)
    if len(widths) != len(num_residuals):
        raise ValueError(f'widths and num_residuals must have the same length, got {len(widths)} and '
                         f'{len(num_residuals)}')
    check_stem(stem)
    net = nn.HybridSequential()
    if stem == 'imagenet':
        net.add(nn.Conv2D(widths[0], kernel_size=7, strides=2, padding=3), nn.BatchNorm(),
                nn.Activation('relu'), nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    else:
        net.add(nn.Conv2D(widths[0], kernel_size=3, strides=1, padding=1), nn.BatchNorm(),
                nn.Activation('relu'))
    for i, (width, n) in enumerate(zip(widths, num_residuals)):
        stage = nn.HybridSequential()
        for j in range(n):
            first = j == 0 and i > 0                 # halve the size and change the width
            stage.add(Residual(width, use_1x1conv=first, strides=2 if first else 1))
        net.add(stage)
    net.add(nn.GlobalAvgPool2D(), nn.Dense(num_classes))
    return net
