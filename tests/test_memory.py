"""Peak memory of one training step in a fresh process: real measurements, failures, bad input."""
import json
import pathlib

import pytest
from mxnet import np

from d2l_extras import model_zoo
from d2l_extras.memory import measure_step
from d2l_extras.sizes import count_parameters

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / 'benchmarks'


def test_memory_grows_with_the_batch():
    kw = {'convs_per_block': [2, 2, 2, 2]}
    small = measure_step('densenet', kw, batch_size=2, image_size=64)
    large = measure_step('densenet', kw, batch_size=32, image_size=64)
    net = model_zoo.build('densenet', convs_per_block=(2, 2, 2, 2))
    net.initialize()
    net(np.zeros((1, 1, 64, 64)))
    assert small['params'] == large['params'] == count_parameters(net)   # the same net
    for r in (small, large):
        assert r['peak_mib'] > r['baseline_mib'] > 50          # MXNet itself is loaded before the mark
        assert r['step_mib'] == pytest.approx(r['peak_mib'] - r['baseline_mib'], abs=0.11)
    # 30 more images of saved activations: several MiB each at 64 px, far above RSS noise
    assert large['step_mib'] - small['step_mib'] > 20


def test_a_failing_child_reports_its_error():
    with pytest.raises(RuntimeError, match='growth_rate must be an integer'):
        measure_step('densenet', {'growth_rate': 0}, batch_size=1, image_size=32)


@pytest.mark.parametrize('kwargs, message', [
    ({'model': 'vgg'}, "model must be one of 'densenet'"),
    ({'batch_size': 0}, 'batch_size must be an integer from 1 to 4,096'),
    ({'image_size': 2.5}, 'image_size must be an integer'),
    ({'image_size': 20000}, 'image_size must be an integer from 1 to 1,024'),
    ({'in_channels': True}, 'in_channels must be an integer'),
    ({'mode': 'eager'}, "mode must be one of 'imperative', 'hybrid', 'symbol'"),
    ({'mode': 'hybrid', 'mirror_ops': ['BatchNorm']}, "mirror_ops needs mode='symbol'"),
    ({'kwargs': [('growth_rate', 12)]}, 'kwargs must be None or a dict'),
    ({'env': {'MXNET_BACKWARD_DO_MIRROR': 1}}, 'env must be None or a dict of str to str'),
    ({'timeout': 0}, r'timeout must be a finite number in \(0, 86400\], got 0'),
    ({'timeout': -1}, r'timeout must be a finite number in \(0, 86400\], got -1'),
    ({'timeout': 'soon'}, r"timeout must be a finite number in \(0, 86400\], got 'soon'"),
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


def test_mirrored_batchnorm_updates_running_statistics_once():
    """Notebook 05's claim: recomputing a BatchNorm in the backward pass (mirroring) leaves its running
    statistics alone on the CPU, because MXNet's CPU BatchNorm updates them in the backward pass."""
    import mxnet as mx
    data = mx.sym.var('data')
    bn = mx.sym.BatchNorm(data, name='bn', fix_gamma=False, momentum=0.9)
    conv = mx.sym.Convolution(mx.sym.Activation(bn, act_type='relu'), num_filter=4, kernel=(3, 3), pad=(1, 1))
    graph = json.loads(mx.sym.MakeLoss(mx.sym.sum(conv * conv)).tojson())
    for node in graph['nodes']:
        if node['op'] == 'BatchNorm':
            node.setdefault('attrs', {})['__force_mirroring__'] = 'True'
    exe = mx.sym.load_json(json.dumps(graph)).simple_bind(mx.cpu(), data=(8, 3, 6, 6), grad_req='write')
    for name, array in exe.arg_dict.items():
        array[:] = mx.nd.random.uniform(0, 4 if name == 'data' else 1, array.shape)
    exe.aux_dict['bn_moving_mean'][:] = 0
    exe.forward(is_train=True)
    exe.backward()
    mx.nd.waitall()              # the backward pass writes the running statistics; wait for all of it
    assert 'Name=bn_mirror' in exe.debug_str()                           # the forward really runs twice
    batch_mean = exe.arg_dict['data'].mean(axis=(0, 2, 3))
    ratio = (exe.aux_dict['bn_moving_mean'] / batch_mean).asnumpy()
    assert abs(ratio - 0.1).max() < 1e-5, ratio                         # one update: 0.9 x 0 + 0.1 x mean


def test_a_measurement_that_takes_too_long_says_so_in_words():
    with pytest.raises(RuntimeError, match=r'memory measurement of densenet \(batch 2, 32 px, hybrid\) took more '
                                           r'than timeout=0.01 s and was stopped: give it more time'):
        measure_step('densenet', batch_size=2, image_size=32, timeout=0.01)


def test_numpy_integers_are_sizes_too():
    import numpy as onp
    from d2l_extras.memory import _validate
    sizes = _validate('densenet', onp.int64(2), onp.int32(32), onp.int8(1), 'hybrid')
    assert sizes == (2, 32, 1) and all(type(n) is int for n in sizes)     # JSON-able for the child process
