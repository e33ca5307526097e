"""d2l_extras.devices: a GPU counts only if it really computes; every fallback says why."""
import mxnet as mx
import pytest

from d2l_extras import devices
from d2l_extras.errors import error_line


def simulate(monkeypatch, cuda_build, count, broken=()):
    """Pretend to be a machine with `count` GPUs, of which those in `broken` fail their probe."""
    monkeypatch.setattr(devices, 'cuda_build', lambda: cuda_build)
    monkeypatch.setattr(devices, 'num_gpus', lambda: count)
    monkeypatch.setattr(devices, 'probe_gpu', lambda i: 'CUDA: no kernel image is available' if i in broken else None)


def test_this_machine_is_cpu_only_and_says_so():
    assert devices.resolve_devices('auto') == ([mx.cpu()], 'devices auto: MXNet is the CPU build (pip package '
                                               'mxnet); install mxnet-cu112 (GPU=1 make setup) for a GPU')


def test_probe_on_a_missing_gpu_returns_the_error():
    assert devices.probe_gpu(0)   # no GPU here: the tiny convolution fails with a message


def test_cuda_build_without_a_visible_gpu(monkeypatch):
    simulate(monkeypatch, cuda_build=True, count=0)
    found, reason = devices.resolve_devices('auto')
    assert found == [mx.cpu()] and 'no GPU is visible' in reason


def test_all_gpus_work(monkeypatch):
    simulate(monkeypatch, cuda_build=True, count=2)
    assert devices.resolve_devices('auto') == ([mx.gpu(0), mx.gpu(1)], 'devices auto: 2 GPU(s) found and working')


def test_a_gpu_without_kernels_falls_back_with_the_reason(monkeypatch):
    simulate(monkeypatch, cuda_build=True, count=1, broken={0})
    found, reason = devices.resolve_devices('auto')
    assert found == [mx.cpu()]
    assert 'no kernel image is available' in reason and 'compute capability 5.0-8.6' in reason


def test_only_working_gpus_are_used_and_the_failure_is_said(monkeypatch):
    simulate(monkeypatch, cuda_build=True, count=3, broken={1})
    found, reason = devices.resolve_devices('auto')
    assert found == [mx.gpu(0), mx.gpu(2)] and 'gpu(1): CUDA: no kernel image' in reason


def test_num_gpus_survives_a_driver_error(monkeypatch):
    def broken():
        raise mx.base.MXNetError('CUDA driver version is insufficient')
    monkeypatch.setattr(mx.context, 'num_gpus', broken)
    assert devices.num_gpus() == 0


# ---- resolve_devices: the one place that turns a spec into checked contexts ------------------------------
@pytest.mark.parametrize('spec, expected, reason', [
    (None, [mx.cpu()], 'devices auto: MXNet is the CPU build'),
    ('auto', [mx.cpu()], 'devices auto: MXNet is the CPU build'),
    ('cpu', [mx.cpu(0)], 'CPU as asked'),
    ('CPU:0,1', [mx.cpu(0), mx.cpu(1)], 'CPU as asked'),
    (mx.cpu(), [mx.cpu()], 'devices as given'),
    ([mx.cpu(0), mx.cpu(1)], [mx.cpu(0), mx.cpu(1)], 'devices as given'),
])
def test_resolve_devices_on_this_cpu_machine(spec, expected, reason):
    got, why = devices.resolve_devices(spec)
    assert got == expected and why.startswith(reason)


@pytest.mark.parametrize('spec, message', [
    ('tpu', "devices: unknown device 'tpu': use auto, cpu, cpu:0,1, gpu or gpu:0,1"),
    ('gpu:x', "unknown device 'gpu:x'"),
    ('auto:1', "unknown device 'auto:1'"),
    ('cpu:\u00b2', "devices: unknown device 'cpu:\u00b2': use auto, cpu"),      # a superscript two: isdigit() says yes
    ('cpu:\u0663', "devices: unknown device 'cpu:\u0663'"),                    # an Arabic-Indic three
    ('cpu:-1', "unknown device 'cpu:-1'"),
    ('cpu:0,0', r"devices lists cpu\(0\) 2 times, got 'cpu:0,0': name each device once"),
    ([mx.cpu(1), mx.cpu(1)], r'devices lists cpu\(1\) 2 times'),
    ([], 'devices must name at least one device, got \\[\\]'),
    (3, 'devices must be auto, cpu'),
    ([mx.cpu(), 'cpu'], 'devices must be auto, cpu'),
    ('gpu', "devices 'gpu': no GPU is usable: MXNet is the CPU build"),
    ('gpu:0', 'devices: GPU 0 not usable: MXNet is the CPU build'),
    (mx.gpu(0), 'devices: GPU 0 not usable'),
])
def test_resolve_devices_refuses_what_cannot_work(spec, message):
    with pytest.raises(ValueError, match=message):
        devices.resolve_devices(spec)


def test_resolve_devices_with_working_and_broken_gpus(monkeypatch):
    simulate(monkeypatch, cuda_build=True, count=3, broken={1})
    assert devices.resolve_devices('auto')[0] == [mx.gpu(0), mx.gpu(2)]
    assert devices.resolve_devices('gpu')[0] == [mx.gpu(0), mx.gpu(2)]
    assert devices.resolve_devices('gpu:2')[0] == [mx.gpu(2)]
    assert devices.resolve_devices([mx.gpu(0), mx.gpu(2)])[0] == [mx.gpu(0), mx.gpu(2)]
    with pytest.raises(ValueError, match='GPU 1 not usable: 2 of 3 GPU.s. work; gpu.1.: CUDA: no kernel image'):
        devices.resolve_devices('gpu:0,1')
    with pytest.raises(ValueError, match=r'devices lists gpu\(0\) 2 times'):
        devices.resolve_devices('gpu:0,0')


def fake_mxnet_error():
    """What MXNet 1.9's CUDA build raises for a GPU without kernels: a traceback around the one useful line."""
    return mx.base.MXNetError(
        'Traceback (most recent call last):\n'
        '  [bt] (1) /usr/lib/libmxnet.so(+0x1c1e3b4) [0x7f0d1c6a73b4]\n'
        '  File "../src/operator/nn/./cudnn/cudnn_convolution-inl.h", line 120\n'
        'MXNetError: Check failed: e == cudaSuccess (209 vs. 0) : CUDA: no kernel image is available for execution '
        'on the device')


def test_the_fallback_reason_names_what_failed_not_the_traceback_header(monkeypatch):
    def failing(*args, **kwargs):
        raise fake_mxnet_error()
    monkeypatch.setattr(devices, 'cuda_build', lambda: True)
    monkeypatch.setattr(devices, 'num_gpus', lambda: 1)
    monkeypatch.setattr(mx.nd, 'ones', failing)
    assert devices.probe_gpu(0) == ('MXNetError: Check failed: e == cudaSuccess (209 vs. 0) : CUDA: no kernel '
                                    'image is available for execution on the device')
    found, reason = devices.resolve_devices('auto')
    assert found == [mx.cpu()] and 'no kernel image is available' in reason and 'Traceback' not in reason


@pytest.mark.parametrize('message, line', [
    ('[13:45:45] ../src/operator/cudnn.h:123: Check failed: e == CUDNN_STATUS_SUCCESS (8 vs. 0) : cuDNN: '
     'CUDNN_STATUS_EXECUTION_FAILED\nStack trace:\n  [bt] (0) /lib/libmxnet.so(+0x1234) [0x7f]',
     'Check failed: e == CUDNN_STATUS_SUCCESS (8 vs. 0) : cuDNN: CUDNN_STATUS_EXECUTION_FAILED'),
    ('libcudart.so.11.0: cannot open shared object file: No such file or directory',
     'libcudart.so.11.0: cannot open shared object file: No such file or directory'),
    ('', 'OSError'),
])
def test_error_line_of_other_failures(message, line):
    assert error_line(OSError(message) if message else OSError()) == line


def test_net_devices_are_where_the_parameters_are():
    from mxnet.gluon import nn
    net = nn.Dense(2, in_units=3)
    assert devices.net_devices(net) == [mx.cpu()]                # not initialized yet
    net.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    assert devices.net_devices(net) == [mx.cpu(0), mx.cpu(1)]
    assert devices.net_devices(lambda X: X) == [mx.cpu()]        # a plain function


def test_free_memory_of_the_cpu_and_of_a_gpu(monkeypatch):
    free = devices.free_memory(mx.cpu())
    assert free is not None and 0 < free
    monkeypatch.setattr(mx.context, 'gpu_memory_info', lambda i: (7 * 2 ** 30, 16 * 2 ** 30))
    assert devices.free_memory(mx.gpu(0)) == 7 * 2 ** 30
