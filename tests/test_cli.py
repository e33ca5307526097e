"""``python -m d2l_extras.train``: flags checked by argparse, a real run on a tiny set, Ctrl-C, --resume."""
import json

import mxnet as mx
import numpy as onp
import pytest

from conftest import write_idx
from d2l_extras import data, train as cli


@pytest.fixture
def tiny_set(tmp_path, monkeypatch):
    """Forty training and twenty test images of Fashion-MNIST's format, found through $FASHION_MNIST_DIR."""
    monkeypatch.setattr(data, 'SPLIT_SIZES', {'train': 40, 'test': 20})
    data._read_split.cache_clear()
    rng = onp.random.default_rng(0)
    folder = tmp_path / 'fashion'
    folder.mkdir()
    for split, n in (('train', 40), ('test', 20)):
        image_name, label_name = data.FILES[split]
        write_idx(folder / image_name, rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / label_name, onp.arange(n) % 10)
    monkeypatch.setenv(data.ENV_VAR, str(folder))
    yield tmp_path
    data._read_split.cache_clear()


FAST = ['--profile', 'cpu-quick', '--resize', '32', '--batch-size', '20', '--devices', 'cpu', '--no-progress']


@pytest.mark.parametrize('flags, message', [
    (['--epochs', '-1'], 'argument --epochs: must be a positive integer'),
    (['--epochs', 'two'], 'argument --epochs: must be a positive integer'),
    (['--resize', '28'], 'argument --resize: must be at least'),
    (['--batch-size', '0'], 'argument --batch-size: must be a positive integer'),
    (['--lr', '0'], 'argument --lr: must be a positive number'),
    (['--lr', 'nan'], 'argument --lr: must be a positive number'),
    (['--devices', 'tpu'], "unknown device 'tpu'"),
    (['--devices', 'gpu:x'], "unknown device 'gpu:x'"),
    (['--profile', 'huge'], 'argument --profile: invalid choice'),
    ([], 'the following arguments are required: --out'),
])
def test_bad_flags_are_argparse_errors(flags, message, capsys):
    argv = flags + ([] if flags == [] else ['--out', 'unused'])
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_gpu_that_does_not_work_is_refused(capsys, monkeypatch):
    monkeypatch.setattr('d2l_extras.devices.usable_gpus', lambda: ([], 'no GPU here'))
    with pytest.raises(SystemExit):
        cli.main(['--devices', 'gpu:0', '--out', 'unused'])
    assert 'GPU 0 not usable: no GPU here' in capsys.readouterr().err


def test_parse_devices():
    assert cli.parse_devices('cpu')[0] == [mx.cpu(0)]
    assert cli.parse_devices('cpu:0,1')[0] == [mx.cpu(0), mx.cpu(1)]


def test_a_run_writes_metrics_checkpoint_and_final_parameters(tiny_set, capsys):
    out = tiny_set / 'run'
    assert cli.main(FAST + ['--epochs', '2', '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'profile cpu-quick: 2 epochs, 32 px, batch 20' in printed
    assert 'epoch 1, loss ' in printed and 'epoch 2, loss ' in printed
    metrics = json.loads((out / 'metrics.json').read_text())
    assert [e['epoch'] for e in metrics['epochs']] == [1, 2] and not metrics['interrupted']
    assert metrics['profile']['resize'] == 32
    assert {p.name for p in out.iterdir()} == {'metrics.json', 'checkpoint.json', 'epoch-002.params',
                                               'epoch-002.states', 'final.params'}


def test_ctrl_c_exits_130_after_saving_and_resume_finishes(tiny_set, monkeypatch, capsys):
    out = tiny_set / 'run'
    from d2l_extras import training
    original = training.train

    def interrupted_in_epoch_2(net, train_iter, *args, **kwargs):
        class Loader:
            passes = 0
            def __len__(self):
                return len(train_iter)
            def __iter__(self):
                Loader.passes += 1
                for i, batch in enumerate(train_iter):
                    if Loader.passes == 2 and i == 1:
                        raise KeyboardInterrupt
                    yield batch
        return original(net, Loader(), *args, **kwargs)

    monkeypatch.setattr(training, 'train', interrupted_in_epoch_2)
    assert cli.main(FAST + ['--epochs', '3', '--out', str(out)]) == cli.EXIT_INTERRUPTED == 130
    assert 'interrupted during epoch 2' in capsys.readouterr().out
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['interrupted'] and len(metrics['epochs']) == 1
    assert not (out / 'final.params').exists()
    monkeypatch.setattr(training, 'train', original)
    assert cli.main(FAST + ['--epochs', '3', '--out', str(out), '--resume']) == 0
    printed = capsys.readouterr().out
    assert 'resumed from' in printed and 'epoch 2, loss' in printed and 'epoch 1, loss' not in printed
    metrics = json.loads((out / 'metrics.json').read_text())
    assert [e['epoch'] for e in metrics['epochs']] == [1, 2, 3] and (out / 'final.params').is_file()
