"""Notebook 05's tables: costs of DenseNet variants and ResNets, the B/C explorer, bad input."""
import pytest

from d2l_extras import model_zoo, variants


def test_costs_of_the_deck_model():
    c = variants.costs(model_zoo.deck_densenet(), image_size=96)
    assert c['params'] == 758_226
    assert c['GFLOPs'] == pytest.approx(0.258, abs=0.001)        # the lesson's layer table says 0.258
    assert 5 < c['outputs MiB'] < 8


def test_costs_scale_with_the_pixels():
    small = variants.costs(model_zoo.resnet(widths=(16, 32, 64, 128)), image_size=64)
    large = variants.costs(model_zoo.resnet(widths=(16, 32, 64, 128)), image_size=128)
    assert small['params'] == large['params']
    assert large['GFLOPs'] / small['GFLOPs'] == pytest.approx(4, rel=0.01)


def test_compare_has_one_row_per_builder():
    table = variants.compare({'bc': model_zoo.densenet_bc, 'quarter': lambda: model_zoo.resnet(widths=(16, 32, 64, 128))}, 64)
    assert list(table.index) == ['bc', 'quarter']
    assert list(table.columns) == ['params', 'GFLOPs', 'outputs MiB']
    assert table.loc['quarter', 'params'] == 702_570


def test_explore_bc_defaults_and_names():
    table = variants.explore_bc()
    assert list(table.index) == ['DenseNet (no B, theta = 1)', 'DenseNet-BC (theta = 0.5)', 'ratio']
    assert table.loc['DenseNet (no B, theta = 1)', 'channels after each block'] == [192, 320, 448, 576]
    assert table.loc['DenseNet-BC (theta = 0.5)', 'channels after each block'] == [192, 224, 240, 248]
    # without the bottleneck, theta = 0.5 is the deck's (fixed) model
    c = variants.explore_bc(bottleneck=False, compression=0.5)
    assert c.index[1] == 'DenseNet-C (theta = 0.5)' and c.iloc[1]['params'] == '758,226'
    assert variants.explore_bc(True, 1.0).index[1] == 'DenseNet-B (theta = 1)'


@pytest.mark.parametrize('kwargs, message', [
    ({'bottleneck': 1}, 'bottleneck must be True or False'),
    ({'compression': 0.0}, r'compression must be a number in \(0, 1\]'),
    ({'growth_rate': -3}, 'growth_rate must be a positive integer'),
    ({'image_size': 28}, 'at least 29 px'),
])
def test_explore_bc_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        variants.explore_bc(**kwargs)
