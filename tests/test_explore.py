"""The functions behind the sliders: numbers checked against the real blocks, and bad inputs."""
import threading

import numpy as onp
import pytest
from matplotlib.figure import Figure

from d2l_extras.explore import (Report, compression_table, deck_vs_fixed, dense_block_diagram, dense_block_table,
                                explore_bc, explore_compression, explore_dense_block, explore_densenet,
                                feature_maps_figure, resnet_vs_densenet_figure, spatial_size_table)


def test_explore_dense_block_defaults_are_the_decks_example():
    report = explore_dense_block()
    assert isinstance(report, Report) and isinstance(report.figure, Figure)
    assert report.text.startswith('Output shape: (1, 23, 8, 8)\n')
    assert list(report.table['sees channels']) == [3, 13]
    # BN (2 trainable per input channel) + 3x3 conv with bias
    assert list(report.table['params']) == [2 * 3 + 3 * 10 * 9 + 10, 2 * 13 + 13 * 10 * 9 + 10]


@pytest.mark.parametrize('growth_rate, num_convs, in_channels', [(1, 1, 1), (64, 8, 128), (7, 3, 5)])
def test_explore_dense_block_follows_the_sliders(growth_rate, num_convs, in_channels):
    report = explore_dense_block(growth_rate, num_convs, in_channels)
    out = in_channels + num_convs * growth_rate
    assert report.text.startswith(f'Output shape: (1, {out}, 8, 8)')
    assert len(report.table) == num_convs
    assert report.table['output channels'].iloc[-1] == out
    assert len(report.figure.axes[0].patches) == (num_convs + 1) * (num_convs + 2) // 2   # one arc per edge


def test_figures_use_the_texts_notation():
    texts = [t.get_text() for ax in resnet_vs_densenet_figure().axes for t in ax.texts]
    assert 'x + g(x)' in texts and '[x, g(x)]' in texts


def test_feature_maps_figure_shows_every_new_map():
    image = onp.linspace(0, 1, 28 * 28).reshape(28, 28)
    fig = feature_maps_figure(image, growth_rate=3, num_convs=2)
    assert len([ax for ax in fig.axes if ax.images]) == 1 + 2 * 3


def test_compression_saves_what_the_formulas_say():
    table = compression_table(0.5)
    # transition: BN(2 x 192) + 1x1 conv 192 -> 96 with bias; theta=1 keeps 192
    assert table.loc['transition', 'params (θ=0.5)'] == 2 * 192 + 192 * 96 + 96
    assert table.loc['transition', 'params (θ=1)'] == 2 * 192 + 192 * 192 + 192
    assert table.loc['transition', 'MFLOPs saved'] == 0.5
    parts = table.loc[['transition', 'next dense block'], 'params (θ=1)']
    assert table.loc['both', 'params (θ=1)'] == parts.sum()
    assert 0 < table.loc['next dense block', 'params saved'] < 0.5
    assert compression_table(1.0).loc['both', 'params saved'] == 0
    assert 'floor(0.25 x 192) = 48 channels at 12 x 12' in explore_compression(0.25).text
    assert 'floor(0.29 x 100) = 29 channels' in explore_compression(0.29, in_channels=100).text


def test_deck_vs_fixed_lists_every_layer_that_differs():
    table = deck_vs_fixed()
    assert table.loc['total (whole net)', 'deck: params'] == 982_506
    assert table.loc['total (whole net)', 'fixed: params'] == 758_226
    transitions = table.index.str.endswith('AvgPool 2x2/2')
    assert list(table.loc[transitions, 'deck: channels']) == [96, 160, 224]
    assert list(table.loc[transitions, 'fixed: channels']) == [96, 112, 120]
    layers = table.drop('total (whole net)')
    extra = layers['deck: params'] - layers['fixed: params']
    assert extra.sum() == 982_506 - 758_226 == 224_280               # the rows add up to the total
    assert extra['11 BN'] == 2 * (352 - 248)                          # the last BatchNorm is wider too


def test_spatial_size_table():
    table = spatial_size_table((28, 29, 96))
    assert list(table.loc['works?']) == ['no', 'yes', 'yes']
    assert table.loc['transition 3', '96 px'] == 3


def test_explore_densenet():
    report = explore_densenet()
    assert '758,226 parameters, 0.258 GFLOPs per image' in report.text
    assert list(report.table.index) == ['stem', 'dense block 1', 'transition 1', 'dense block 2', 'transition 2',
                                        'dense block 3', 'transition 3', 'dense block 4', 'head', 'total']
    assert report.table.loc['total', 'params'] == '758,226'
    assert report.table.loc['head', 'output shape'] == '(1, 10)'
    assert report.table.loc['transition 2', 'channels'] == 112
    assert len(explore_densenet(convs_per_block=(6, 12, 24, 16), input_size=224).table) == 10
    small = explore_densenet(growth_rate=8, convs_per_block=(2, 2), input_size=32, fixed=False)
    assert 'convs_per_block=(2, 2), fixed=False) at 32 x 32' in small.text


def test_explore_bc():
    report = explore_bc()
    assert list(report.table.index) == ['DenseNet (no B, θ = 1)', 'DenseNet-BC (θ = 0.5)', 'ratio']
    assert report.table.loc['DenseNet-BC (θ = 0.5)', 'params'] == '980,434'
    assert report.table.loc['DenseNet (no B, θ = 1)', 'params'] == '1,764,170'
    assert explore_bc(False, 0.5).table.loc['DenseNet-C (θ = 0.5)', 'params'] == '758,226'   # the lesson's model
    assert 'DenseNet-B ' in explore_bc(True, 1.0).text


@pytest.mark.parametrize('call, match', [
    (lambda: explore_dense_block(growth_rate=0), 'growth_rate must be an integer from 1 to 256'),
    (lambda: explore_dense_block(growth_rate=10 ** 9), 'growth_rate must be an integer from 1 to 256'),
    (lambda: explore_dense_block(num_convs=-1), 'num_convs must be an integer'),
    (lambda: dense_block_table(in_channels=1.5), 'in_channels must be an integer'),
    (lambda: dense_block_table(in_channels=10 ** 9), 'in_channels must be an integer from 1 to 4,096'),
    (lambda: dense_block_diagram(growth_rate='8'), 'growth_rate must be an integer'),
    (lambda: dense_block_diagram(num_convs=17), 'num_convs must be an integer from 1 to 16'),
    (lambda: feature_maps_figure(onp.zeros((1, 28, 28))), 'image must be a 2-D array'),
    (lambda: feature_maps_figure(onp.zeros((0, 0))), 'image must be a 2-D array'),
    (lambda: feature_maps_figure('abc'), "image must be a 2-D array of numbers .*, got str 'abc'"),
    (lambda: feature_maps_figure(None), 'image must be a 2-D array of numbers .*, got shape \\(\\)'),
    (lambda: feature_maps_figure(3.0), 'image must be a 2-D array of numbers .*, got shape \\(\\)'),
    (lambda: feature_maps_figure([['a']]), "image must be a 2-D array of numbers .*, got list"),
    (lambda: feature_maps_figure(onp.zeros((28, 28)), growth_rate=17), 'growth_rate must be an integer from 1 to 16'),
    (lambda: explore_compression(theta=0), r'theta must be a number in \(0, 1\]'),
    (lambda: explore_compression(theta='0.5'), r'theta must be a number in \(0, 1\]'),
    (lambda: explore_compression(theta=0.001), 'at least 1 channel'),
    (lambda: compression_table(size=1), 'size must be an integer from 2 to 1,024, got 1'),
    (lambda: compression_table(growth_rate=10 ** 9), 'growth_rate must be an integer from 1 to 256'),
    (lambda: explore_densenet(input_size=28), 'input_size must be at least 29 px'),
    (lambda: explore_densenet(input_size=10 ** 6), 'input_size must be an integer from 1 to 1,024'),
    (lambda: explore_densenet(growth_rate=-2), 'growth_rate must be an integer'),
    (lambda: explore_densenet(convs_per_block=(4, 0)), r'convs_per_block\[1\] must be an integer'),
    (lambda: explore_densenet(fixed='no'), 'fixed must be True or False'),
    (lambda: deck_vs_fixed(input_size=0), 'input_size must be an integer'),
    (lambda: deck_vs_fixed(growth_rate=10 ** 9), 'growth_rate must be an integer from 1 to 256'),
    (lambda: explore_bc(bottleneck=1), 'bottleneck must be True or False'),
    (lambda: explore_bc(growth_rate=10 ** 9), 'growth_rate must be an integer from 1 to 256'),
    (lambda: spatial_size_table(()), 'input_sizes must be a non-empty sequence'),
])
def test_bad_input_names_the_parameter_the_caller_passed(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_explorers_work_in_a_widget_callback_thread():
    """ipykernel runs widget callbacks in another thread, where npx.set_np() (thread-local) is off."""
    results = []

    def callback():
        try:
            results.append(explore_dense_block(growth_rate=15).text.splitlines()[0])
            results.append(explore_densenet(growth_rate=4, convs_per_block=(1, 1), input_size=32).text[:9])
            results.append(float(compression_table(0.5).loc['both', 'params saved']))
            results.append(explore_bc(False, 0.5).text[:10])
        except Exception as error:          # the thread must report, not swallow, a failure
            results.append(error)

    thread = threading.Thread(target=callback)
    thread.start()
    thread.join()
    assert results[:2] == ['Output shape: (1, 33, 8, 8)', 'densenet('] and isinstance(results[2], float), results
    assert results[3] == 'DenseNet-C', results


def test_reports_show_whole_numbers_with_separators():
    report = explore_dense_block(growth_rate=32, num_convs=6, in_channels=64)
    assert report.shown_table()['params'].iloc[-1] == '64,992' and report.table['params'].iloc[-1] == 64_992
