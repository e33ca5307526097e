"""The layer table: shapes, parameters, mult-adds and activations checked against hand counts and real runs."""
import pytest
from mxnet import autograd, np
from mxnet.gluon import nn

from d2l_extras import model_zoo
from d2l_extras.densenet import DenseBlock, densenet
from d2l_extras.sizes import count_parameters
from d2l_extras.summary import COLUMNS, compare, costs, describe, layer_table, pretty, totals


def small_cnn():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, kernel_size=3, padding=1), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=2, strides=2), nn.Dense(5))
    return net


def test_hand_counted_small_cnn_without_initializing():
    table = layer_table(small_cnn(), (2, 3, 8, 8))
    assert list(table.columns) == COLUMNS
    assert list(table['layer']) == ['0 Conv 3x3', '1 ReLU', '2 MaxPool 2x2/2', '3 Dense']
    assert list(table['output shape']) == [(2, 4, 8, 8), (2, 4, 8, 8), (2, 4, 4, 4), (2, 5)]
    assert list(table['params']) == [3 * 4 * 9 + 4, 0, 0, 64 * 5 + 5]
    assert list(table['mult-adds']) == [2 * 4 * 8 * 8 * 3 * 9, 0, 0, 2 * 64 * 5]
    assert list(table['activation bytes']) == [4 * 2 * 4 * 64, 4 * 2 * 4 * 64, 4 * 2 * 64, 4 * 10]


def test_shapes_agree_with_a_real_forward_pass():
    net = densenet()
    table = layer_table(net, (2, 1, 96, 96))
    net.initialize()
    X, shapes = np.zeros((2, 1, 96, 96)), []
    with autograd.predict_mode():
        for layer in net:
            X = layer(X)
            shapes.append(X.shape)
    assert list(table['output shape']) == shapes
    assert count_parameters(net) == totals(table)['params'] == 758_226


def test_grouped_conv_and_nested_blocks_at_depth_2():
    net = nn.HybridSequential()
    inner = nn.HybridSequential()
    inner.add(nn.Conv2D(6, kernel_size=1, groups=2), nn.BatchNorm())
    net.add(inner, nn.GlobalAvgPool2D())
    flat = layer_table(net, (1, 4, 5, 5))
    deep = layer_table(net, (1, 4, 5, 5), depth=2)
    assert list(flat['layer']) == ['0 Conv 1x1-BN', '1 GlobalAvgPool']
    assert list(deep['layer']) == ['0.0 Conv 1x1', '0.1 BN', '1 GlobalAvgPool']
    assert deep['mult-adds'][0] == 6 * 25 * (4 // 2)
    assert flat['params'].sum() == deep['params'].sum() == 2 * 6 + 6 + 2 * 6


def test_activations_count_every_operation_once_including_concatenations():
    """A dense block's activations: BN, ReLU and conv outputs of each conv block plus each concatenation."""
    blk = DenseBlock(2, 10)
    table = layer_table(blk, (1, 3, 8, 8), depth=2)
    per_map = 8 * 8 * 4                                    # bytes of one 8 x 8 float32 channel
    bn_relu_conv = [(3 + 3 + 10) * per_map, (13 + 13 + 10) * per_map]
    concatenations = (13 + 23) * per_map
    assert list(table['activation bytes']) == bn_relu_conv + [concatenations]
    assert table['layer'].iloc[-1] == '2 x concatenate (between the rows)'
    whole = totals(layer_table(blk, (1, 3, 8, 8)))['activation bytes']
    assert whole == sum(bn_relu_conv) + concatenations      # the same total at any depth
    assert totals(layer_table(densenet(), (1, 1, 96, 96), depth=3))['activation bytes'] == \
        totals(layer_table(densenet(), (1, 1, 96, 96)))['activation bytes']


def test_densenet_totals_and_depth():
    table = layer_table(densenet(), (1, 1, 96, 96))
    total = totals(table)
    assert total['FLOPs'] == 2 * total['mult-adds'] and round(total['FLOPs'] / 1e9, 3) == 0.258
    assert sum(table['layer'].str.endswith('DenseBlock')) == 4
    deep = layer_table(densenet(), (1, 1, 96, 96), depth=3)
    assert totals(deep)['params'] == total['params'] and totals(deep)['mult-adds'] == total['mult-adds']
    assert (deep['layer'] == '4.net.0 BN-ReLU-Conv 3x3').any()


def test_hybridized_and_trained_nets_are_left_alone():
    net = densenet(growth_rate=4, convs_per_block=(1, 1))
    net.initialize()
    net.hybridize()
    net(np.ones((1, 1, 32, 32)))
    before = net[1].running_mean.data().copy()
    layer_table(net, (1, 1, 32, 32))
    assert net._active and (net[1].running_mean.data() == before).all()


def test_batch_scales_mult_adds_not_params():
    one = totals(layer_table(small_cnn(), (1, 3, 8, 8)))
    two = totals(layer_table(small_cnn(), (3, 3, 8, 8)))
    assert two['mult-adds'] == 3 * one['mult-adds'] and two['params'] == one['params']


def test_pretty_adds_a_total_row():
    shown = pretty(layer_table(small_cnn(), (1, 3, 8, 8)))
    assert shown.index[-1] == 'total'
    assert shown['params'].iloc[-1] == f'{112 + 325:,}'
    assert list(shown.columns) == ['output shape', 'channels', 'params', 'MFLOPs', 'activations (KiB)']


def test_describe():
    assert describe(nn.Conv2D(3, kernel_size=7, strides=2)) == 'Conv 7x7/2'
    assert describe(nn.AvgPool2D(pool_size=2, strides=2)) == 'AvgPool 2x2/2'
    assert describe(nn.Activation('sigmoid')) == 'sigmoid'


def test_costs_and_compare():
    c = costs(model_zoo.build('densenet'), image_size=96)
    assert c['params'] == 758_226 and round(c['GFLOPs'], 3) == 0.258
    small, large = (costs(model_zoo.build('resnet18-quarter'), image_size=s) for s in (64, 128))
    assert small['params'] == large['params'] and large['GFLOPs'] / small['GFLOPs'] == pytest.approx(4, rel=0.01)
    table = compare(['densenet-bc', 'resnet18-quarter'], 64)
    assert list(table.index) == ['densenet-bc', 'resnet18-quarter']
    assert list(table.columns) == ['params', 'GFLOPs', 'activations MiB']


@pytest.mark.parametrize('bad', [(), (1, 0, 8, 8), (1, 3, 8.0, 8), '1388', 5, (1, 3, 10 ** 9, 8)])
def test_bad_input_shape(bad):
    with pytest.raises(ValueError, match='input_shape'):
        layer_table(small_cnn(), bad)


def test_bad_depth_plain_blocks_and_too_small_inputs():
    with pytest.raises(ValueError, match='depth must be an integer'):
        layer_table(small_cnn(), (1, 3, 8, 8), depth=0)
    with pytest.raises(ValueError, match='HybridBlock'):
        layer_table(nn.Sequential(), (1, 4))
    with pytest.raises(ValueError, match=r'net cannot process an input of shape \(1, 1, 28, 28\)'):
        layer_table(densenet(), (1, 1, 28, 28))


def test_densenet_169_layout_without_initializing():
    """The explorer's largest layout: every count from shape inference (benchmarks/explorer_speed.py times it)."""
    net = model_zoo.lesson_densenet(convs_per_block=(6, 12, 32, 32))
    total = totals(layer_table(net, (1, 1, 224, 224)))
    assert total['params'] == count_parameters(net) == 19_843_210
