"""The training library on a tiny learnable set: it learns, checkpoints round-trip, resumes, survives Ctrl-C."""
import json

import mxnet as mx
import numpy as onp
import pytest
from mxnet import np
from mxnet.gluon import nn

from d2l_extras import training
from d2l_extras.data import BatchLoader
from d2l_extras.training import History, load_checkpoint, save_checkpoint, train

NUM_CLASSES = 4


def striped_images(n_per_class=48, size=12, seed=0):
    """Noisy images whose class is the row band that is bright: learnable in a few epochs."""
    rng = onp.random.default_rng(seed)
    labels = onp.repeat(onp.arange(NUM_CLASSES), n_per_class).astype(onp.int32)
    images = rng.integers(0, 80, (len(labels), size, size)).astype(onp.uint8)
    for c in range(NUM_CLASSES):
        images[labels == c, 3 * c:3 * c + 3, :] = 255
    return images, labels


def loaders(batch_size=32):
    images, labels = striped_images()
    return (BatchLoader(images, labels, batch_size, shuffle=True, seed=0),
            BatchLoader(*striped_images(n_per_class=16, seed=1), 64))


def small_net():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 3, padding=1), nn.BatchNorm(), nn.Activation('relu'),
            nn.GlobalAvgPool2D(), nn.Dense(NUM_CLASSES))
    return net


def mlp():
    net = nn.HybridSequential()
    net.add(nn.Dense(16, activation='relu'), nn.Dense(NUM_CLASSES))
    return net


class InterruptAt:
    """A loader that raises KeyboardInterrupt (as Ctrl-C does) at a given batch of a given pass."""

    def __init__(self, loader, epoch, batch):
        self.loader, self.stop, self.passes = loader, (epoch, batch), 0

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.passes += 1
        for i, item in enumerate(self.loader, 1):
            if (self.passes, i) == self.stop:
                raise KeyboardInterrupt
            yield item


def quiet(**kwargs):
    return dict(progress=False, plot=False, log=lambda line: None, **kwargs)


def predictions(net, X):
    return net(X).asnumpy()


def test_training_learns_and_prints_the_decks_line():
    mx.random.seed(0)
    lines = []
    train_iter, test_iter = loaders()
    history = train(mlp(), train_iter, test_iter, num_epochs=4, lr=0.5,
                    progress=False, plot=False, log=lines.append)
    losses = history.column('loss')
    assert losses[-1] < 0.5 * losses[0]
    assert history.epochs[-1].test_acc >= 0.9
    assert len(lines) == 4 and not history.interrupted
    assert lines[0].startswith('epoch 1, loss ') and ', train acc ' in lines[0] and lines[0].endswith(' sec')
    assert all(e.img_per_sec > 0 for e in history.epochs)


def test_convolutional_net_learns_hybridized():
    mx.random.seed(0)
    net = small_net()
    history = train(net, *loaders(), num_epochs=3, lr=0.3, **quiet())
    assert net._active                                       # hybridized
    assert history.column('loss')[-1] < history.column('loss')[0]


def test_cosine_decay_still_learns():
    mx.random.seed(0)
    history = train(mlp(), *loaders(), num_epochs=3, lr=0.5, cosine=True, **quiet())
    assert history.epochs[-1].test_acc >= 0.9


def test_two_cpu_contexts_train_data_parallel():
    mx.random.seed(0)
    net = mlp()
    devices = [mx.cpu(0), mx.cpu(1)]
    history = train(net, *loaders(batch_size=30), num_epochs=4, lr=0.5, devices=devices, **quiet())
    weight = net[0].weight
    assert set(weight.list_ctx()) == set(devices)
    onp.testing.assert_allclose(weight.data(mx.cpu(0)).asnumpy(), weight.data(mx.cpu(1)).asnumpy())
    assert history.epochs[-1].test_acc >= 0.9


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path):
    mx.random.seed(0)
    net = small_net()
    train(net, *loaders(), num_epochs=2, lr=0.3, checkpoint_dir=tmp_path, **quiet())
    X, _ = next(iter(loaders()[1]))
    restored = small_net()
    history = load_checkpoint(tmp_path, restored)
    assert len(history) == 2
    onp.testing.assert_array_equal(predictions(net, X), predictions(restored, X))
    meta = json.loads((tmp_path / 'checkpoint.json').read_text())
    assert meta['epoch'] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ['checkpoint.json', 'epoch-002.params',
                                                          'epoch-002.states']


@pytest.mark.parametrize('cosine', [False, True])
def test_resume_continues_the_epoch_count_and_the_same_run(tmp_path, cosine):
    mx.random.seed(0)
    straight = train(mlp(), *loaders(), num_epochs=3, lr=0.5, cosine=cosine, **quiet())
    mx.random.seed(0)
    interrupted = InterruptAt(loaders()[0], epoch=2, batch=1)
    train(mlp(), interrupted, loaders()[1], num_epochs=3, lr=0.5, cosine=cosine, checkpoint_dir=tmp_path,
          **quiet())
    lines = []
    resumed = train(mlp(), *loaders(), num_epochs=3, lr=0.5, cosine=cosine, checkpoint_dir=tmp_path,
                    resume=True, progress=False, plot=False, log=lines.append)
    assert resumed.column('epoch') == [1, 2, 3]
    assert lines[0].startswith('resumed from') and lines[1].startswith('epoch 2,')
    # same shuffles, same parameters, same point of the lr schedule: the resumed run is the uninterrupted one
    onp.testing.assert_allclose(resumed.column('loss'), straight.column('loss'), rtol=1e-4)


def test_ctrl_c_keeps_the_last_complete_epoch(tmp_path):
    mx.random.seed(0)
    train_iter, test_iter = loaders()
    lines = []
    net = small_net()
    history = train(net, InterruptAt(train_iter, epoch=2, batch=3), test_iter, num_epochs=4, lr=0.3,
                    checkpoint_dir=tmp_path, progress=False, plot=False, log=lines.append)
    assert history.interrupted and len(history) == 1
    assert lines[-1].startswith('interrupted during epoch 2')
    X, _ = next(iter(test_iter))
    net(X)                                                   # the net (the kernel) is still usable
    restored = small_net()
    assert len(load_checkpoint(tmp_path, restored)) == 1
    assert onp.isfinite(predictions(restored, X)).all()
    assert not list(tmp_path.glob('.*tmp*'))                 # no half-written files


def test_interrupt_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    mx.random.seed(0)
    net = small_net()
    train(net, *loaders(), num_epochs=1, lr=0.3, checkpoint_dir=tmp_path, **quiet())
    X, _ = next(iter(loaders()[1]))
    after_one = predictions(net, X)
    real_replace = training.os.replace

    def replace(src, dst):                                   # Ctrl-C just before the commit point
        if str(dst).endswith('checkpoint.json'):
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(training.os, 'replace', replace)
    history = train(net, *loaders(), num_epochs=3, lr=0.3, checkpoint_dir=tmp_path, resume=True, **quiet())
    assert history.interrupted
    monkeypatch.undo()
    restored = small_net()
    assert len(load_checkpoint(tmp_path, restored)) == 1
    onp.testing.assert_array_equal(predictions(restored, X), after_one)
    assert not list(tmp_path.glob('.*tmp*'))


def test_history_round_trips_through_a_dict():
    history = History([training.Epoch(1, 0.5, 0.8, 0.85, 12.0, 100.0)], interrupted=True)
    assert History.from_dict(json.loads(json.dumps(history.to_dict()))) == history
    assert history.epochs[0].line() == 'epoch 1, loss 0.5000, train acc 0.800, test acc 0.850, time 12.0 sec'


def test_save_checkpoint_needs_no_existing_folder(tmp_path):
    mx.random.seed(0)
    net = mlp()
    net.initialize()
    net(np.zeros((2, 1, 12, 12)))
    trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    path = save_checkpoint(tmp_path / 'a' / 'b', net, trainer, History())
    assert path.is_file()


@pytest.mark.parametrize('kwargs, message', [
    ({'num_epochs': 0}, 'num_epochs must be a positive integer'),
    ({'lr': -0.1}, 'lr must be a positive number'),
    ({'resume': True}, 'resume=True needs a checkpoint_dir'),
    ({'devices': []}, 'devices must name at least one device'),
    ({'updates_per_epoch': 0}, 'updates_per_epoch must be a positive integer'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train(mlp(), *loaders(), **{'num_epochs': 1, **kwargs}, **quiet())


def test_missing_checkpoint_is_explained(tmp_path):
    with pytest.raises(FileNotFoundError, match='no checkpoint in'):
        load_checkpoint(tmp_path, mlp())
