"""Peak memory of one training step in a fresh process: real measurements, failures, bad input."""
import json
import pathlib

import pytest
from mxnet import np

from d2l_extras import model_zoo
from d2l_extras.memory import measure_step

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / 'benchmarks'


def test_memory_grows_with_the_batch():
    kw = {'block_config': [2, 2, 2, 2]}
    small = measure_step('deck_densenet', kw, batch_size=2, image_size=64)
    large = measure_step('deck_densenet', kw, batch_size=32, image_size=64)
    net = model_zoo.deck_densenet(block_config=(2, 2, 2, 2))
    net.initialize()
    net(np.zeros((1, 1, 64, 64)))
    assert small['params'] == large['params'] == model_zoo.count_parameters(net)   # the same net
    for r in (small, large):
        assert r['peak_mib'] > r['baseline_mib'] > 50          # MXNet itself is loaded before the mark
        assert r['step_mib'] == pytest.approx(r['peak_mib'] - r['baseline_mib'], abs=0.11)
    # 30 more images of saved activations: several MiB each at 64 px, far above RSS noise
    assert large['step_mib'] - small['step_mib'] > 20


def test_a_failing_child_reports_its_error():
    with pytest.raises(RuntimeError, match='growth_rate must be a positive integer'):
        measure_step('deck_densenet', {'growth_rate': 0}, batch_size=1, image_size=32)


@pytest.mark.parametrize('kwargs, message', [
    ({'builder': 'vgg'}, 'builder must be one of'),
    ({'batch_size': 0}, r'batch_size must be a positive integer \(1 or more\)'),
    ({'image_size': 2.5}, 'image_size must be a positive integer'),
    ({'in_channels': True}, 'in_channels must be a positive integer'),
    ({'mode': 'eager'}, "mode must be one of \\('imperative', 'hybrid', 'symbol'\\)"),
    ({'mode': 'hybrid', 'mirror_ops': ['BatchNorm']}, "mirror_ops needs mode='symbol'"),
    ({'kwargs': [('growth_rate', 12)]}, 'kwargs must be None or a dict'),
    ({'env': {'MXNET_BACKWARD_DO_MIRROR': 1}}, 'env must be None or a dict of str to str'),
])
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        measure_step(**kwargs)


def test_cached_curve_is_what_the_benchmark_writes():
    path = BENCHMARKS / 'memory.json'
    if not path.exists():
        pytest.skip('benchmarks/memory.json not generated yet (python benchmarks/memory.py)')
    results = json.loads(path.read_text())
    hybrid = [r for r in results['curve'] if r['mode'] == 'hybrid']
    layers = [r['layers_per_block'] for r in hybrid]
    assert layers == sorted(layers) and len(layers) >= 5
    steps = [r['step_mib'] for r in hybrid]
    assert steps == sorted(steps)                               # more layers, more memory
    fit = results['fit']['imperative']
    assert fit['quadratic']['rms_residual_mib'] < fit['linear']['rms_residual_mib']
