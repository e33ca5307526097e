"""The lesson's code: the deck's shapes and parameter counts, hybridization, and the fast concatenation."""
import json

import mxnet as mx
import pytest
from mxnet import autograd, gluon, init, np
from mxnet.gluon import nn

from d2l_extras.densenet import DenseBlock, conv_block, densenet, transition_block
from d2l_extras.sizes import count_parameters
from d2l_extras.speedups import fast_concat


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


def test_conv_block_is_bn_relu_conv3x3():
    blk = conv_block(7)
    assert [type(b) for b in blk] == [nn.BatchNorm, nn.Activation, nn.Conv2D]
    assert blk[2]._kwargs['kernel'] == (3, 3) and blk[2]._kwargs['pad'] == (1, 1)


@pytest.mark.parametrize('fixed, expected', [(False, 982_506), (True, 758_226)])
def test_parameter_counts_at_96_px(fixed, expected):
    net = densenet(fixed=fixed)
    net.initialize(init.Xavier())
    assert net(np.zeros((1, 1, 96, 96))).shape == (1, 10)
    assert count_parameters(net) == expected


def test_hybridized_matches_imperative():
    net = densenet(growth_rate=8, convs_per_block=(2, 2, 2, 2))
    net.initialize(init.Xavier())
    X = np.random.uniform(size=(2, 1, 32, 32))
    with autograd.predict_mode():
        expected = net(X)
        net.hybridize(static_alloc=True, static_shape=True)
        got = net(X)
    assert np.abs(got - expected).max() < 1e-5


def _graph_ops(net) -> set[str]:
    return {node['op'] for node in json.loads(net._cached_graph[1].tojson())['nodes']}


def _one_step(net, X, y):
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(X), y)
    loss.backward()
    trainer.step(X.shape[0])
    return loss, [p.grad().copy() for p in net.collect_params().values() if p.grad_req != 'null']


def test_fast_concat_builds_legacy_concat_with_the_same_values_and_gradients():
    """Inside fast_concat() the traced graph uses Concat (oneDNN) instead of _npi_concatenate; the
    concatenation is the same copy, so outputs and gradients agree up to float rounding elsewhere."""
    X = np.random.uniform(size=(4, 1, 32, 32))
    y = np.array([0, 1, 2, 3])
    results = {}
    for fast in (False, True):
        mx.random.seed(0)
        net = densenet(growth_rate=4, convs_per_block=(2, 2, 2, 2))
        net.initialize(init.Xavier())
        net.hybridize(static_alloc=True, static_shape=True)
        if fast:
            with fast_concat():
                results[fast] = _one_step(net, X, y)
            assert 'Concat' in _graph_ops(net) and '_npi_concatenate' not in _graph_ops(net)
        else:
            results[fast] = _one_step(net, X, y)
            assert '_npi_concatenate' in _graph_ops(net) and 'Concat' not in _graph_ops(net)
        assert isinstance(net(X), mx.np.ndarray)
    (loss_np, grads_np), (loss_fast, grads_fast) = results[False], results[True]
    assert np.abs(loss_np - loss_fast).max() < 1e-5
    assert len(grads_np) == len(grads_fast)
    for i, (a, b) in enumerate(zip(grads_np, grads_fast)):
        assert float(np.abs(a - b).max()) / (float(np.abs(a).max()) + 1e-12) < 1e-3, f'parameter {i}'


def test_fast_concat_is_restored_and_reentrant():
    original = mx.sym.np.concatenate
    with fast_concat():
        with fast_concat():
            assert mx.sym.np.concatenate is not original
        assert mx.sym.np.concatenate is not original
    assert mx.sym.np.concatenate is original
    with pytest.raises(RuntimeError):
        with fast_concat():
            raise RuntimeError('boom')
    assert mx.sym.np.concatenate is original
