"""One rule per idea: checks and limits, spatial sizes, the minimum input, compression, parameter counts."""
import numpy as onp
import pytest
from mxnet import np
from mxnet.gluon import nn

from d2l_extras import sizes
from d2l_extras.densenet import densenet


@pytest.mark.parametrize('value', [0, -3, 2.0, '4', None, True, False, 257])
def test_check_int_refuses_junk_and_names_the_range(value):
    with pytest.raises(ValueError, match=r'growth_rate must be an integer from 1 to 256, got'):
        sizes.check_int('growth_rate', value, high=sizes.MAX_GROWTH_RATE)


@pytest.mark.parametrize('values', [(), 4, '4444', (4, 0), (4, 2.5), (4, True), [1] * 9])
def test_check_ints(values):
    with pytest.raises(ValueError, match='convs_per_block'):
        sizes.check_ints('convs_per_block', values, high=sizes.MAX_CONVS, max_len=sizes.MAX_BLOCKS)
    assert sizes.check_ints('x', [1, 2]) == (1, 2)


@pytest.mark.parametrize('value', ['no', 0, 1, None])
def test_booleans_are_booleans(value):
    with pytest.raises(ValueError, match='fixed must be True or False'):
        sizes.check_bool('fixed', value)


def test_spatial_sizes_round_up_in_the_stem_and_down_in_transitions():
    assert [s for _, s in sizes.spatial_sizes(96)] == [96, 48, 24, 12, 6, 3]
    assert [s for _, s in sizes.spatial_sizes(29)] == [29, 15, 8, 4, 2, 1]    # ceil(29/2) = 15
    assert [s for _, s in sizes.spatial_sizes(28)] == [28, 14, 7, 3, 1, 0]
    assert [s for _, s in sizes.spatial_sizes(8, 3, stem='cifar')] == [8, 4, 2]


def test_min_input_size_closed_form_matches_a_search_and_mxnet():
    for stem in sizes.STEMS:
        for blocks in range(1, 7):
            smallest = sizes.min_input_size(blocks, stem)
            works = [n for n in range(1, 200) if sizes.spatial_sizes(n, blocks, stem)[-1][1] >= 1]
            assert smallest == works[0]
    assert [sizes.min_input_size(n) for n in range(1, 7)] == [1, 5, 13, 29, 61, 125]
    net = densenet(growth_rate=2, convs_per_block=(1, 1, 1, 1))   # MXNet agrees: 29 runs, 28 does not
    net.initialize()
    assert net(np.zeros((1, 1, 29, 29))).shape == (1, 10)
    with pytest.raises(Exception, match='kernel size'):
        net(np.zeros((1, 1, 28, 28)))


def test_min_input_size_is_instant_for_every_allowed_depth():
    assert sizes.min_input_size(sizes.MAX_BLOCKS) == 2 ** (sizes.MAX_BLOCKS + 1) - 3
    with pytest.raises(ValueError, match='num_blocks must be an integer from 1 to 8'):
        sizes.min_input_size(30)


def test_check_input_size_explains_the_path():
    assert sizes.check_input_size(29) == 29
    with pytest.raises(ValueError, match=r'at least 29 px .* got 28: the size goes 28 \(input\) -> 14 '
                                         r'\(7x7/2 conv\) -> 7 .* -> 0 \(transition 3\)'):
        sizes.check_input_size(28)
    with pytest.raises(ValueError, match='input_size must be an integer from 1 to 1,024'):
        sizes.check_input_size(20000)


@pytest.mark.parametrize('channels, theta, expected', [(192, 1, 192), (192, 0.5, 96), (100, 0.29, 29),
                                                        (192, 0.29, 55), (10, 0.1, 1), (249, 0.5, 124)])
def test_one_compression_rule(channels, theta, expected):
    assert sizes.transition_channels(channels, theta) == expected


@pytest.mark.parametrize('theta', [0, 1.5, 0.001, True, '0.5'])
def test_compression_refuses_junk_and_empty_transitions(theta):
    with pytest.raises(ValueError, match='theta'):
        sizes.transition_channels(192, theta)


def test_channel_path_deck_and_fixed():
    assert [c for _, c in sizes.channel_path(fixed=True)] == [64, 192, 96, 224, 112, 240, 120, 248]
    assert [c for _, c in sizes.channel_path(fixed=False)] == [64, 192, 96, 224, 160, 288, 224, 352]


def test_count_parameters_needs_known_shapes():
    net = nn.Dense(3)
    with pytest.raises(ValueError, match='not known yet'):
        sizes.count_parameters(net)
    net.initialize()
    net(np.zeros((2, 4)))
    assert sizes.count_parameters(net) == 4 * 3 + 3



@pytest.mark.parametrize('value', [0, -3, True, 2.5, '64', 4097])
def test_channel_path_checks_the_stem_channels(value):
    with pytest.raises(ValueError, match=r'stem_channels must be an integer from 1 to 4,096, got'):
        sizes.channel_path(stem_channels=value)


def test_numpy_integers_are_integers_and_numpy_reals_are_reals():
    got = sizes.check_int('growth_rate', onp.int64(32), high=sizes.MAX_GROWTH_RATE)
    assert got == 32 and type(got) is int
    assert sizes.check_ints('convs_per_block', (onp.int32(2), onp.uint8(3))) == (2, 3)
    got = sizes.check_real('lr', onp.float32(0.5), 0, 1)
    assert got == 0.5 and type(got) is float
    assert sizes.transition_channels(onp.int64(192), onp.float64(0.5)) == 96
    assert sizes.channel_path(onp.int64(32), stem_channels=onp.int16(64))[0] == ('stem', 64)


@pytest.mark.parametrize('check, value, message', [
    (lambda v: sizes.check_int('growth_rate', v, high=256), onp.float64(32.0),
     r'growth_rate must be an integer from 1 to 256, got 32.0 \(numpy.float64\)'),
    (lambda v: sizes.check_int('growth_rate', v, high=256), onp.bool_(True),
     r'growth_rate must be an integer from 1 to 256, got True \(numpy.bool_\)'),
    (lambda v: sizes.check_bool('fixed', v), onp.bool_(True), r'fixed must be True or False, got True \(numpy.bool_\)'),
    (lambda v: sizes.check_real('lr', v, 0, 1), onp.array([0.5]),
     r'lr must be a finite number in \[0, 1\], got array\(\[0.5\]\) \(numpy.ndarray\)'),
])
def test_a_value_whose_repr_hides_its_type_is_refused_with_the_type(check, value, message):
    with pytest.raises(ValueError, match=message):
        check(value)
