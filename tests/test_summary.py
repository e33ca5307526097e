"""The layer table: shapes, parameters and mult-adds checked against hand counts, on any net."""
import pytest
from mxnet import np
from mxnet.gluon import nn

from d2l_extras.densenet import count_parameters, densenet
from d2l_extras.summary import COLUMNS, describe, layer_table, pretty, totals


def small_cnn():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, kernel_size=3, padding=1), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=2, strides=2), nn.Dense(5))
    net.initialize()
    return net


def test_hand_counted_small_cnn():
    table = layer_table(small_cnn(), (2, 3, 8, 8))
    assert list(table.columns) == COLUMNS
    assert list(table['layer']) == ['0 Conv 3x3', '1 ReLU', '2 MaxPool 2x2/2', '3 Dense']
    assert list(table['output shape']) == [(2, 4, 8, 8), (2, 4, 8, 8), (2, 4, 4, 4), (2, 5)]
    assert list(table['params']) == [3 * 4 * 9 + 4, 0, 0, 64 * 5 + 5]
    assert list(table['mult-adds']) == [2 * 4 * 8 * 8 * 3 * 9, 0, 0, 2 * 64 * 5]
    assert list(table['activation bytes']) == [4 * 2 * 4 * 64, 4 * 2 * 4 * 64, 4 * 2 * 64, 4 * 10]


def test_grouped_conv_and_nested_blocks_at_depth_2():
    net = nn.HybridSequential()
    inner = nn.HybridSequential()
    inner.add(nn.Conv2D(6, kernel_size=1, groups=2), nn.BatchNorm())
    net.add(inner, nn.GlobalAvgPool2D())
    net.initialize()
    flat = layer_table(net, (1, 4, 5, 5))
    deep = layer_table(net, (1, 4, 5, 5), depth=2)
    assert list(flat['layer']) == ['0 Conv 1x1-BN', '1 GlobalAvgPool']
    assert list(deep['layer']) == ['0.0 Conv 1x1', '0.1 BN', '1 GlobalAvgPool']
    assert deep['mult-adds'][0] == 6 * 25 * (4 // 2)
    assert flat['params'].sum() == deep['params'].sum() == 2 * 6 + 6 + 2 * 6


def test_densenet_totals_and_hybridized_net_is_restored():
    net = densenet()
    net.initialize()
    net.hybridize(static_alloc=True)
    table = layer_table(net, (1, 1, 96, 96))
    total = totals(table)
    assert total['params'] == count_parameters(net) == 758_226
    assert total['FLOPs'] == 2 * total['mult-adds']
    assert round(total['FLOPs'] / 1e9, 3) == 0.258
    assert net._active and net[4]._active            # hybridized again afterwards
    assert sum(table['layer'].str.endswith('DenseBlock')) == 4
    deep = layer_table(net, (1, 1, 96, 96), depth=3)
    assert totals(deep)['params'] == total['params'] and totals(deep)['mult-adds'] == total['mult-adds']
    assert (deep['layer'] == '4.net.0 BN-ReLU-Conv 3x3').any()


def test_batch_scales_mult_adds_not_params():
    one = totals(layer_table(small_cnn(), (1, 3, 8, 8)))
    two = totals(layer_table(small_cnn(), (3, 3, 8, 8)))
    assert two['mult-adds'] == 3 * one['mult-adds'] and two['params'] == one['params']


def test_pretty_adds_a_total_row():
    shown = pretty(layer_table(small_cnn(), (1, 3, 8, 8)))
    assert shown['layer'].iloc[-1] == 'total'
    assert shown['params'].iloc[-1] == f'{112 + 325:,}'
    assert list(shown.columns) == ['layer', 'output shape', 'channels', 'params', 'MFLOPs', 'memory (KiB)']


def test_describe():
    assert describe(nn.Conv2D(3, kernel_size=7, strides=2)) == 'Conv 7x7/2'
    assert describe(nn.AvgPool2D(pool_size=2, strides=2)) == 'AvgPool 2x2/2'
    assert describe(nn.Activation('sigmoid')) == 'sigmoid'


@pytest.mark.parametrize('bad', [(), (1, 0, 8, 8), (1, 3, 8.0, 8), '1388', 5])
def test_bad_input_shape(bad):
    with pytest.raises(ValueError, match='input_shape'):
        layer_table(small_cnn(), bad)


def test_bad_depth_and_uninitialized():
    with pytest.raises(ValueError, match='depth must be a positive integer'):
        layer_table(small_cnn(), (1, 3, 8, 8), depth=0)
    with pytest.raises(ValueError, match='initialize'):
        layer_table(nn.Dense(3), (1, 4))
    with pytest.raises(ValueError, match='at least 29 px'):
        net = densenet()
        net.initialize()
        layer_table(net, (1, 1, 28, 28))


def test_wrong_rank_for_densenet_is_explained():
    net = densenet()
    net.initialize()
    with pytest.raises(ValueError, match='rank 4'):
        layer_table(net, (1, 96, 96))


def test_batchnorm_statistics_are_left_alone():
    net = densenet(growth_rate=4, convs_per_block=(1, 1))
    net.initialize()
    net(np.ones((1, 1, 32, 32)))
    before = net[1].running_mean.data().copy()
    layer_table(net, (2, 1, 32, 32))
    assert (net[1].running_mean.data() == before).all()
