"""The registry and the general DenseNet builder: published counts, the lesson's model, bad input, no hangs."""
import subprocess
import sys
import textwrap

import pytest
from mxnet import np
from mxnet.gluon import nn

from d2l_extras import model_zoo as mz
from d2l_extras import summary
from d2l_extras.densenet import densenet
from d2l_extras.resnet import Residual
from d2l_extras.sizes import count_parameters


def params(net, shape=(1, 3, 32, 32)) -> int:
    """Trainable parameters, the shapes inferred for an input of ``shape``."""
    return summary.totals(summary.layer_table(net, shape))['params']


def leaves(block):
    """The layers without children, in the order a forward pass meets them."""
    children = list(block._children.values())
    return [block] if not children else [leaf for c in children for leaf in leaves(c)]


@pytest.mark.parametrize('name, expected', [('densenet121', 7_978_856), ('densenet169', 14_149_480),
                                            ('densenet201', 20_013_928), ('densenet264', 33_337_704)])
def test_published_parameter_counts(name, expected):
    # torchvision's trainable counts; DenseNet-264 is not in torchvision, the count is this builder's
    assert params(mz.build(name)) == expected


def test_the_lesson_model_is_the_lesson_code():
    net = mz.build('densenet')
    assert [repr(x) for x in leaves(net)] == [repr(x) for x in leaves(densenet())]
    assert params(mz.build('densenet'), (1, 1, 96, 96)) == 758_226
    assert params(mz.build('densenet-deck'), (1, 1, 96, 96)) == 982_506


def test_the_general_builder_reproduces_the_lesson_model():
    general = mz.DenseNet(growth_rate=32, block_config=(4, 4, 4, 4), bn_size=None, compression=0.5,
                          num_classes=10, use_bias=True)
    assert params(general, (1, 1, 96, 96)) == 758_226
    assert general.channels == [64, 192, 96, 224, 112, 240, 120, 248]


def test_overrides_and_channels():
    net = mz.build('densenet121', num_classes=7)
    assert net.channels == [64, 256, 128, 512, 256, 1024, 512, 1024]
    net.initialize()
    assert net(np.zeros((2, 3, 64, 64))).shape == (2, 7)
    bc = mz.DenseNet(growth_rate=12, block_config=(2, 2, 2), num_init_features=24, bn_size=None,
                     compression=0.3, num_classes=10, stem='cifar')
    assert bc.channels == [24, 48, 14, 38, 11, 35]              # floor(0.3 x c) after each block


def test_bottleneck_layers_and_bias():
    assert [type(x).__name__ for x in mz.DenseLayer(12, bn_size=None)] == ['BatchNorm', 'Activation', 'Conv2D']
    bottleneck = mz.DenseLayer(12, bn_size=4)
    assert len(bottleneck) == 6 and bottleneck[2]._channels == 48 and bottleneck[5]._channels == 12
    assert all(c.bias is None for c in leaves(mz.build('densenet121')) if isinstance(c, nn.Conv2D))


def test_resnets_match_d2l():
    d2l = pytest.importorskip('d2l.mxnet')
    theirs = d2l.resnet18(10)
    theirs.initialize()
    theirs(np.zeros((1, 1, 32, 32)))
    assert params(mz.build('d2l-resnet18'), (1, 1, 32, 32)) == count_parameters(theirs) == 11_175_818
    assert params(mz.build('resnet18-quarter'), (1, 1, 96, 96)) == 702_570


def test_the_zoo_model_checks_its_input():
    net = mz.build('densenet121')
    net.initialize()
    with pytest.raises(ValueError, match='x height must be at least 29 px'):
        net(np.zeros((1, 3, 28, 28)))
    with pytest.raises(ValueError, match='batch of images'):
        net(np.zeros((3, 96, 96)))


def test_every_registered_model_builds_and_compared_ones_take_fashion_mnist():
    for name, model in mz.MODELS.items():
        assert model.description
        net = mz.build(name)
        shape = (1, 1, 96, 96) if model.compared else (1, 3, 64, 64)
        table = summary.layer_table(net, shape)
        if model.compared:
            assert table['output shape'].iloc[-1] == (1, 10), name


def test_a_new_variant_is_one_line(monkeypatch):
    """Adding one entry to MODELS puts the model into every comparison (notebook 05, both benchmarks)."""
    line = mz.Model('a narrower lesson model', lambda: mz.lesson_densenet(growth_rate=8), compared=True)
    monkeypatch.setitem(mz.MODELS, 'densenet-k8', line)
    assert mz.compared()[-1] == 'densenet-k8'
    table = summary.compare(mz.compared(), image_size=32)
    assert table.loc['densenet-k8', 'params'] < table.loc['densenet', 'params']


@pytest.mark.parametrize('kwargs, message', [
    ({'growth_rate': 0}, 'growth_rate must be an integer from 1 to 256'),
    ({'growth_rate': 10 ** 9}, 'growth_rate must be an integer from 1 to 256'),
    ({'growth_rate': True}, 'growth_rate must be an integer'),
    ({'block_config': ()}, 'block_config must be a non-empty sequence'),
    ({'block_config': (6, 0)}, r'block_config\[1\] must be an integer'),
    ({'block_config': (10 ** 9,)}, r'block_config\[0\] must be an integer from 1 to 64'),
    ({'block_config': (1,) * 30}, 'block_config must be a non-empty sequence of at most 8'),
    ({'num_init_features': -1}, 'num_init_features must be an integer'),
    ({'bn_size': 0}, 'bn_size must be an integer'),
    ({'compression': 0}, r'compression must be a number in \(0, 1\]'),
    ({'compression': 0.001}, 'must leave at least 1 channel'),
    ({'num_classes': 10 ** 9}, 'num_classes must be an integer from 1 to 100,000'),
    ({'stem': 'mnist'}, 'stem must be one of'),
    ({'use_bias': 'no'}, 'use_bias must be True or False'),
])
def test_densenet_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mz.DenseNet(**kwargs)


@pytest.mark.parametrize('kwargs, message', [
    ({'fixed': 'no'}, 'fixed must be True or False'),
    ({'convs_per_block': [10 ** 9]}, r'convs_per_block\[0\] must be an integer from 1 to 64'),
    ({'convs_per_block': [1] * 30}, 'at most 8'),
    ({'growth_rate': 10 ** 9}, 'growth_rate must be an integer from 1 to 256'),
    ({'num_classes': 0}, 'num_classes must be an integer'),
])
def test_lesson_model_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mz.lesson_densenet(**kwargs)


def test_other_bad_input():
    with pytest.raises(ValueError, match="name must be one of 'densenet'"):
        mz.build('vgg')
    with pytest.raises(ValueError, match='strides must be an integer from 1 to 4'):
        Residual(8, strides=0)
    with pytest.raises(ValueError, match='widths and num_residuals'):
        mz.resnet(widths=(16, 32), num_residuals=(2,))
    with pytest.raises(ValueError, match=r'widths\[1\] must'):
        mz.resnet(widths=(16, 0), num_residuals=(2, 2))


HANG_CASES = [
    "from d2l_extras.model_zoo import lesson_densenet; lesson_densenet(2, [1] * 30)",
    "from d2l_extras.model_zoo import lesson_densenet; lesson_densenet(convs_per_block=[10**9])",
    "from d2l_extras.explore import explore_densenet; explore_densenet(convs_per_block=[1] * 30)",
    "from d2l_extras.explore import explore_dense_block; explore_dense_block(num_convs=10**9)",
    "from d2l_extras.explore import dense_block_table; dense_block_table(num_convs=10**9)",
    "from d2l_extras.explore import dense_block_diagram; dense_block_diagram(num_convs=10**9)",
    "from d2l_extras.sizes import spatial_sizes; spatial_sizes(96, 10**9)",
    "from d2l_extras.sizes import min_input_size; min_input_size(30)",
]


@pytest.mark.parametrize('code', HANG_CASES)
def test_junk_sizes_fail_fast_instead_of_hanging(code):
    """Each of these hung or exhausted memory before the limits: now a ValueError within seconds."""
    script = textwrap.dedent(f"""
        import d2l_extras  # first: its compat module prepares numpy and Python for MXNet
        from mxnet import npx
        npx.set_np()
        try:
            {code}
        except ValueError as error:
            print('ValueError:', error)
    """)
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=60)
    assert 'ValueError:' in done.stdout, done.stdout + done.stderr[-2000:]
