"""The general DenseNet builder: published parameter counts, the deck preset, shapes, bad input."""
import pytest
from mxnet import gluon, np
from mxnet.gluon import nn

from d2l_extras import model_zoo as mz


def built(net, shape=(1, 3, 32, 32)):
    """Initialize and run one forward pass so that deferred shapes are known."""
    net.initialize()
    net(np.zeros(shape))
    return net


def leaves(block):
    """The layers without children, in the order a forward pass meets them."""
    children = list(block._children.values())
    children = [c() if callable(c) and not isinstance(c, gluon.Block) else c for c in children]
    if not children:
        return [block]
    return [leaf for c in children for leaf in leaves(c)]


@pytest.mark.parametrize('builder, expected', [
    (mz.densenet121, 7_978_856), (mz.densenet169, 14_149_480), (mz.densenet201, 20_013_928),
    (mz.densenet264, 33_337_704)])
def test_published_parameter_counts(builder, expected):
    # torchvision's trainable counts; DenseNet-264 is not in torchvision, the count is this builder's
    assert mz.count_parameters(built(builder())) == expected


def test_densenet121_shapes_and_channels():
    net = built(mz.densenet121(num_classes=7), (2, 3, 64, 64))
    assert net(np.zeros((2, 3, 64, 64))).shape == (2, 7)
    assert net.channels == [64, 256, 128, 512, 256, 1024, 512, 1024]
    assert sum(isinstance(b, mz.DenseBlockBC) for b in net.features) == 4


def test_deck_preset_counts_and_layout():
    net = built(mz.deck_densenet(), (1, 1, 96, 96))
    assert mz.count_parameters(net) == 758_226
    assert net.channels == [64, 192, 96, 224, 112, 240, 120, 248]    # transitions halve
    kinds = [type(leaf).__name__ for leaf in leaves(net)]
    assert kinds[:4] == ['Conv2D', 'BatchNorm', 'Activation', 'MaxPool2D']
    assert kinds[-4:] == ['BatchNorm', 'Activation', 'GlobalAvgPool2D', 'Dense']
    assert kinds.count('Conv2D') == 1 + 16 + 3


def test_deck_preset_matches_the_lesson_model():
    densenet = pytest.importorskip('d2l_extras.densenet')
    lesson = built(densenet.densenet(fixed=True), (1, 1, 96, 96))
    preset = built(mz.deck_densenet(), (1, 1, 96, 96))
    assert mz.count_parameters(preset) == mz.count_parameters(lesson) == 758_226
    assert [repr(x) for x in leaves(preset)] == [repr(x) for x in leaves(lesson)]


def test_bottleneck_and_compression_change_the_layers():
    plain = mz.DenseLayer(12, bn_size=None)
    bottleneck = mz.DenseLayer(12, bn_size=4)
    assert [type(x).__name__ for x in plain] == ['BatchNorm', 'Activation', 'Conv2D']
    assert len(bottleneck) == 6 and bottleneck[2]._channels == 48 and bottleneck[5]._channels == 12
    net = mz.DenseNet(12, (2, 2, 2), 24, None, 0.3, 10, stem='cifar')
    assert net.channels == [24, 48, 14, 38, 11, 35]              # floor(0.3 * c) after each block
    assert mz.transition_channels(48, 0.3) == 14


def test_dense_block_concatenates_hybridized():
    block = mz.DenseBlockBC(3, growth_rate=5, bn_size=2)
    block.initialize()
    block.hybridize()
    assert block(np.zeros((2, 4, 8, 8))).shape == (2, 4 + 3 * 5, 8, 8)
    t = mz.Transition(6)
    t.initialize()
    assert t(np.zeros((2, 19, 8, 8))).shape == (2, 6, 4, 4)


def test_no_conv_bias_by_default_and_bias_in_preset():
    convs = [x for x in leaves(mz.densenet121()) if isinstance(x, nn.Conv2D)]
    assert all(c.bias is None for c in convs)
    convs = [x for x in leaves(mz.deck_densenet()) if isinstance(x, nn.Conv2D)]
    assert all(c.bias is not None for c in convs)


def test_min_input_size_is_exact():
    net = built(mz.deck_densenet(), (1, 1, 96, 96))
    net.hybridize()
    assert net.min_input_size == 29
    assert net(np.zeros((1, 1, 29, 29))).shape == (1, 10)         # 15 -> 8 -> 4 -> 2 -> 1
    with pytest.raises(ValueError, match='at least 29 px'):
        net(np.zeros((1, 1, 28, 28)))                             # 14 -> 7 -> 3 -> 1: fails
    with pytest.raises(ValueError, match='4-D'):
        net(np.zeros((1, 96, 96)))
    cifar = mz.DenseNet(12, (1, 1, 1), 24, 4, 0.5, 10, stem='cifar')
    assert cifar.min_input_size == 4


def test_resnet_matches_d2l_resnet18():
    d2l = pytest.importorskip('d2l.mxnet')
    ours = built(mz.resnet(stem='cifar'), (1, 1, 32, 32))
    theirs = built(d2l.resnet18(10), (1, 1, 32, 32))
    assert mz.count_parameters(ours) == mz.count_parameters(theirs) == 11_175_818
    assert mz.count_parameters(built(mz.resnet(widths=(16, 32, 64, 128)), (1, 1, 96, 96))) == 702_570


@pytest.mark.parametrize('kwargs, message', [
    ({'growth_rate': 0}, 'growth_rate must be a positive integer'),
    ({'growth_rate': 12.0}, 'growth_rate must be a positive integer'),
    ({'growth_rate': True}, 'growth_rate must be a positive integer'),
    ({'block_config': ()}, 'block_config must be a non-empty sequence'),
    ({'block_config': '6'}, 'block_config must be a non-empty sequence'),
    ({'block_config': (6, 0)}, r'block_config\[1\] must be a positive integer'),
    ({'num_init_features': -1}, 'num_init_features must be a positive integer'),
    ({'bn_size': 0}, r'bn_size must be None \(no bottleneck\) or a positive integer'),
    ({'compression': 0}, r'compression must be a number in \(0, 1\]'),
    ({'compression': 1.5}, r'compression must be a number in \(0, 1\]'),
    ({'compression': 0.001}, 'compression must keep at least 1 channel'),
    ({'num_classes': 0}, 'num_classes must be a positive integer'),
    ({'stem': 'mnist'}, 'stem must be one of'),
    ({'use_bias': 'no'}, 'use_bias must be True or False'),
])
def test_densenet_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mz.DenseNet(**kwargs)


def test_other_bad_input():
    with pytest.raises(ValueError, match=r'depth must be one of \[121, 169, 201, 264\]'):
        mz.densenet(100)
    with pytest.raises(ValueError, match='num_layers must be a positive integer'):
        mz.DenseBlockBC(0, 12)
    with pytest.raises(ValueError, match='channels must be a positive integer'):
        mz.Transition(0)
    with pytest.raises(ValueError, match='channels must be a positive integer'):
        mz.transition_channels(0, 0.5)
    with pytest.raises(ValueError, match='widths and num_residuals'):
        mz.resnet(widths=(16, 32), num_residuals=(2,))
    with pytest.raises(ValueError, match=r'widths\[1\] must'):
        mz.resnet(widths=(16, 0), num_residuals=(2, 2))
    with pytest.raises(ValueError, match='stem must be one of'):
        mz.resnet(stem='x')
