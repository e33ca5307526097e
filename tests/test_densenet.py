"""The lesson code: the deck's shapes and parameter counts, hybridization, and every bad input."""
import mxnet as mx
import pytest
from mxnet import autograd, init, np
from mxnet.gluon import nn

from d2l_extras.densenet import (DenseBlock, channel_path, check_input_shape, concat_channels,
                                 conv_block, count_parameters, densenet, min_input_size,
                                 spatial_sizes, transition_block)


def test_deck_shapes():
    blk = DenseBlock(2, 10)
    blk.initialize()
    Y = blk(np.random.uniform(size=(4, 3, 8, 8)))
    assert Y.shape == (4, 23, 8, 8)
    trans = transition_block(10)
    trans.initialize()
    assert trans(Y).shape == (4, 10, 4, 4)


def test_dense_block_keeps_its_input_and_concatenates():
    blk = DenseBlock(3, 5)
    blk.initialize()
    X = np.random.uniform(size=(2, 4, 6, 6))
    Y = blk(X)
    assert Y.shape == (2, 4 + 3 * 5, 6, 6)
    assert np.abs(Y[:, :4] - X).max() == 0          # the input passes through unchanged


class _Concat(nn.HybridBlock):
    def hybrid_forward(self, F, X, Y):
        return concat_channels(F, X, Y)


@pytest.mark.parametrize('hybridize', [False, True])
def test_concat_channels_is_np_concatenate_with_its_gradient(hybridize):
    """The deck's legacy concat on NumPy-interface arrays: same values, same gradients, np arrays out."""
    block = _Concat()
    if hybridize:
        block.hybridize()
    X, Y = np.random.uniform(size=(2, 3, 4, 5)), np.random.uniform(size=(2, 2, 4, 5))
    weights = np.random.uniform(size=(1, 5, 4, 5))
    for a in (X, Y):
        a.attach_grad()
    with autograd.record():
        Z = block(X, Y)
        (Z * weights).sum().backward()
    assert isinstance(Z, mx.np.ndarray)
    assert np.abs(Z - np.concatenate((X, Y), axis=1)).max() == 0
    assert np.abs(X.grad - np.broadcast_to(weights[:, :3], X.shape)).max() == 0
    assert np.abs(Y.grad - np.broadcast_to(weights[:, 3:], Y.shape)).max() == 0


def test_conv_block_is_bn_relu_conv3x3():
    blk = conv_block(7)
    kinds = [type(b) for b in blk]
    assert kinds == [nn.BatchNorm, nn.Activation, nn.Conv2D]
    assert blk[2]._kwargs['kernel'] == (3, 3) and blk[2]._kwargs['pad'] == (1, 1)


@pytest.mark.parametrize('fixed, expected', [(False, 982_506), (True, 758_226)])
def test_parameter_counts_at_96_px(fixed, expected):
    net = densenet(fixed=fixed)
    net.initialize(init.Xavier())
    assert net(np.zeros((1, 1, 96, 96))).shape == (1, 10)
    assert count_parameters(net) == expected
    assert count_parameters(net, trainable_only=False) > expected    # + BatchNorm running stats


@pytest.mark.parametrize('fixed', [False, True])
def test_channel_path_matches_the_real_net(fixed):
    net = densenet(fixed=fixed)
    net.initialize()
    X, channels = np.zeros((1, 1, 64, 64)), []
    for layer in net:
        X = layer(X)
        if isinstance(layer, DenseBlock) or (isinstance(layer, nn.HybridSequential)):
            channels.append(X.shape[1])
    assert channels == [c for _, c in channel_path(fixed=fixed)][1:]
    deck = dict(channel_path(fixed=False))
    assert [deck[f'transition {i}'] for i in (1, 2, 3)] == [96, 160, 224]


def test_hybridized_matches_imperative():
    net = densenet(growth_rate=8, convs_per_block=(2, 2, 2, 2))
    net.initialize(init.Xavier())
    X = np.random.uniform(size=(2, 1, 32, 32))
    with autograd.predict_mode():
        expected = net(X)
        net.hybridize(static_alloc=True, static_shape=True)
        got = net(X)
    assert np.abs(got - expected).max() < 1e-5


def test_spatial_sizes_and_minimum():
    assert [s for _, s in spatial_sizes(96)] == [96, 48, 24, 12, 6, 3]
    assert [s for _, s in spatial_sizes(28)] == [28, 14, 7, 3, 1, 0]
    assert min_input_size() == 29
    assert min_input_size(1) == 1 and min_input_size(2) == 5


@pytest.mark.parametrize('size', [29, 32])
def test_smallest_inputs_run(size):
    net = densenet(growth_rate=4, convs_per_block=(1, 1, 1, 1))
    net.initialize()
    assert net(np.zeros((1, 1, size, size))).shape == (1, 10)


def test_too_small_input_explains_itself_hybridized_or_not():
    net = densenet(growth_rate=4, convs_per_block=(1, 1, 1, 1))
    net.initialize()
    for hybridize in (False, True):
        if hybridize:
            net.hybridize()
            net(np.zeros((1, 1, 32, 32)))
        with pytest.raises(ValueError, match=r'at least 29 px.*28 \(input\) -> 14 .* -> 0 \(transition 3\)'):
            net(np.zeros((1, 1, 28, 28)))
    with pytest.raises(ValueError, match='width must be at least 29'):
        net(np.zeros((1, 1, 96, 20)))


@pytest.mark.parametrize('shape', [(1, 96, 96), (96, 96), (1, 1, 1, 96, 96)])
def test_wrong_rank(shape):
    with pytest.raises(ValueError, match='rank 4'):
        check_input_shape(shape)
    net = densenet(growth_rate=4, convs_per_block=(1,))
    net.initialize()
    with pytest.raises(ValueError, match='rank 4'):
        net(np.zeros(shape))


@pytest.mark.parametrize('bad', [0, -3, 2.0, '4', None, True])
def test_bad_counts(bad):
    with pytest.raises(ValueError, match=r'growth_rate must be a positive integer \(1 or more\)'):
        densenet(growth_rate=bad)
    with pytest.raises(ValueError, match='num_convs must be a positive integer'):
        DenseBlock(bad, 10)
    with pytest.raises(ValueError, match='num_channels must be a positive integer'):
        DenseBlock(2, bad)
    with pytest.raises(ValueError, match='num_channels must be a positive integer'):
        transition_block(bad)
    with pytest.raises(ValueError, match='num_classes must be a positive integer'):
        densenet(num_classes=bad)
    with pytest.raises(ValueError, match='input_size must be a positive integer'):
        spatial_sizes(bad)


@pytest.mark.parametrize('bad', [(), 4, '4444', (4, 0, 4, 4), (4, 2.5)])
def test_bad_convs_per_block(bad):
    with pytest.raises(ValueError, match=r'convs_per_block'):
        densenet(convs_per_block=bad)
    with pytest.raises(ValueError, match=r'convs_per_block'):
        channel_path(convs_per_block=bad)
