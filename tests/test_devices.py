"""d2l_extras.devices: a GPU counts only if it really computes; every fallback says why."""
import mxnet as mx
import pytest

from d2l_extras import devices


def simulate(monkeypatch, cuda_build, count, broken=()):
    """Pretend to be a machine with `count` GPUs, of which those in `broken` fail their probe."""
    monkeypatch.setattr(devices, 'cuda_build', lambda: cuda_build)
    monkeypatch.setattr(devices, 'num_gpus', lambda: count)
    monkeypatch.setattr(devices, 'probe_gpu', lambda i: 'CUDA: no kernel image is available' if i in broken else None)


def test_this_machine_is_cpu_only_and_says_so(capsys):
    assert devices.try_gpu() == mx.cpu()
    line = capsys.readouterr().out.strip()
    assert line.startswith('using cpu(0): gpu(0) is not usable: MXNet is the CPU build')
    assert devices.try_all_gpus(verbose=False) == [mx.cpu()]


def test_probe_on_a_missing_gpu_returns_the_error():
    assert devices.probe_gpu(0)   # no GPU here: the tiny convolution fails with a message


def test_cuda_build_without_a_visible_gpu(monkeypatch, capsys):
    simulate(monkeypatch, cuda_build=True, count=0)
    assert devices.try_all_gpus() == [mx.cpu()]
    assert 'no GPU is visible' in capsys.readouterr().out


def test_all_gpus_work(monkeypatch, capsys):
    simulate(monkeypatch, cuda_build=True, count=2)
    assert devices.try_all_gpus() == [mx.gpu(0), mx.gpu(1)]
    assert devices.try_gpu(1) == mx.gpu(1)
    assert capsys.readouterr().out == ''
    assert devices.last_reason == 'using gpu(1): 2 GPU(s) found and working'


def test_a_gpu_without_kernels_falls_back_with_the_reason(monkeypatch, capsys):
    simulate(monkeypatch, cuda_build=True, count=1, broken={0})
    assert devices.try_gpu(0) == mx.cpu()
    out = capsys.readouterr().out
    assert 'no kernel image is available' in out and 'compute capability 5.0-8.6' in out


def test_only_working_gpus_are_used(monkeypatch, capsys):
    simulate(monkeypatch, cuda_build=True, count=3, broken={1})
    assert devices.try_all_gpus() == [mx.gpu(0), mx.gpu(2)]
    assert 'gpu(1): CUDA: no kernel image' in capsys.readouterr().out   # the partial failure is said too


def test_num_gpus_survives_a_driver_error(monkeypatch):
    def broken():
        raise mx.base.MXNetError('CUDA driver version is insufficient')
    monkeypatch.setattr(mx.context, 'num_gpus', broken)
    assert devices.num_gpus() == 0


@pytest.mark.parametrize('bad', [-1, 1.5, '0'])
def test_try_gpu_bad_index(bad):
    with pytest.raises(ValueError, match='i must be a non-negative integer'):
        devices.try_gpu(bad)
