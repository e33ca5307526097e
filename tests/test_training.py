"""The training library on a tiny learnable set and the lesson's DenseNet at its smallest: it learns, applies
every knob of the recipe, checkpoints, resumes the same run, survives Ctrl-C and stops a diverged run."""
import json
import math

import matplotlib
import mxnet as mx
import numpy as onp
import pytest
from mxnet import gluon, np, npx

from d2l_extras import runs, training
from d2l_extras.data import BatchLoader
from d2l_extras.liveplot import LivePlot
from d2l_extras.recipes import MAX_LR, build_model
from d2l_extras.runs import CheckpointError, RunFolderError, load_checkpoint, read_checkpoint
from d2l_extras.training import learning_rate, make_loss, make_trainer, train
from training_helpers import TINY, InterruptAt, level_images, loaders, quiet

matplotlib.use('Agg')


def run(recipe=TINY, **kwargs):
    """Train a fresh tiny net with ``recipe``; returns (net, history)."""
    net = build_model(recipe)
    train_iter, test_iter = kwargs.pop('loaders', None) or loaders(recipe)
    return net, train(net, train_iter, test_iter, recipe, **{**quiet(), **kwargs})


def predictions(net, X):
    return net(X).asnumpy()


def test_training_learns_and_prints_the_decks_line():
    lines = []
    recipe = TINY.replace(epochs=5)
    _, history = run(recipe, log=lines.append)
    losses = history.column('loss')
    assert losses[-1] < 0.3 * losses[0] and history.epochs[-1].train_acc >= 0.9
    assert len(lines) == 5 and not history.interrupted and not history.diverged
    assert lines[0].startswith('epoch 1, loss ') and ', train acc ' in lines[0] and lines[0].endswith(' sec')
    assert all(e.img_per_sec > 0 for e in history.epochs)


def test_the_net_is_hybridized_and_lives_on_the_devices_asked_as_a_string():
    net, history = run(devices='cpu')                     # a spec string: resolved by d2l_extras.devices
    assert net._active and len(history) == TINY.epochs
    assert next(iter(net.collect_params().values())).list_ctx() == [mx.cpu(0)]


def test_two_cpu_contexts_train_data_parallel():
    net, history = run(TINY.replace(epochs=5), devices=[mx.cpu(0), mx.cpu(1)])
    weight = net[0].weight
    assert set(weight.list_ctx()) == {mx.cpu(0), mx.cpu(1)}
    onp.testing.assert_allclose(weight.data(mx.cpu(0)).asnumpy(), weight.data(mx.cpu(1)).asnumpy())
    assert history.column('loss')[-1] < 0.5 * history.column('loss')[0]


# ---- the recipe's knobs ----------------------------------------------------------------------------
def test_learning_rate_schedules():
    constant = TINY.replace(epochs=2)
    assert [learning_rate(constant, t, 10) for t in (1, 11, 20)] == [0.5] * 3
    cosine = TINY.replace(epochs=2, schedule='cosine')
    mxnet_cosine = mx.lr_scheduler.CosineScheduler(max_update=20, base_lr=0.5, final_lr=0)
    onp.testing.assert_allclose([learning_rate(cosine, t, 10) for t in range(1, 21)],
                                [mxnet_cosine(t) for t in range(1, 21)], rtol=1e-12)
    assert learning_rate(cosine, 20, 10) == 0                        # decayed to 0 by the last update
    warm = TINY.replace(epochs=2, schedule='cosine', warmup_epochs=0.5)  # 5 updates of warm-up
    assert [learning_rate(warm, t, 10) for t in range(1, 6)] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert learning_rate(warm, 6, 10) < 0.5 and learning_rate(warm, 20, 10) == pytest.approx(0)
    warm_constant = TINY.replace(warmup_epochs=1)
    assert learning_rate(warm_constant, 5, 10) == 0.25 and learning_rate(warm_constant, 11, 10) == 0.5


def test_the_schedule_is_what_the_trainer_uses(monkeypatch):
    used = []
    original = gluon.Trainer.set_learning_rate
    monkeypatch.setattr(gluon.Trainer, 'set_learning_rate', lambda self, lr: (used.append(lr), original(self, lr)))
    recipe = TINY.replace(epochs=2, schedule='cosine', warmup_epochs=0.5)
    run(recipe)
    batches = len(loaders()[0])
    assert used == pytest.approx([learning_rate(recipe, t, batches) for t in range(1, 2 * batches + 1)])


def test_optimizer_knobs_reach_the_trainer():
    net = build_model(TINY)
    net.initialize()
    plain = make_trainer(net, TINY)
    assert type(plain.optimizer).__name__ == 'SGD' and plain.optimizer.momentum == 0 and plain.optimizer.wd == 0
    tuned = make_trainer(net, TINY.replace(momentum=0.9, weight_decay=5e-4))
    assert (type(tuned.optimizer).__name__, tuned.optimizer.momentum, tuned.optimizer.wd) == ('SGD', 0.9, 5e-4)
    nesterov = make_trainer(net, TINY.replace(momentum=0.9, nesterov=True))
    assert type(nesterov.optimizer).__name__ == 'NAG' and nesterov.optimizer.momentum == 0.9


def one_step(recipe, steps=2):
    """A 1 x 1 Dense layer after ``steps`` SGD steps on the same input, from weight 1 and bias 0."""
    net = gluon.nn.Dense(1, in_units=1)
    net.initialize(mx.init.One())
    net.bias.set_data(np.zeros(1))
    trainer = make_trainer(net, recipe)
    for _ in range(steps):
        with mx.autograd.record():
            loss = net(np.ones((1, 1))).sum()          # gradient 1 for the weight
        loss.backward()
        trainer.step(1)
    return float(net.weight.data().item())


@pytest.mark.parametrize('knobs, expected', [
    ({}, 1 - 0.1 - 0.1),                                            # plain SGD: w -= lr * g
    ({'weight_decay': 0.1}, (1 - 0.1 * 1.1) - 0.1 * (1 + 0.1 * 0.89)),   # g + wd * w
    ({'momentum': 0.9}, 1 - 0.1 - (0.9 * 0.1 + 0.1)),               # v = 0.9 v - lr g; w += v
    ({'momentum': 0.9, 'nesterov': True}, 1 - 0.19 - (0.1 + 0.9 * 0.19)),   # NAG: lr (g + m state)
])
def test_each_optimizer_knob_changes_the_update_as_its_formula_says(knobs, expected):
    assert one_step(TINY.replace(lr=0.1, **knobs)) == pytest.approx(expected, rel=1e-6)


def test_label_smoothing_spreads_the_target():
    scores = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    labels = np.array([0, 2], dtype='int32')
    log_p = npx.log_softmax(scores, axis=1).asnumpy()
    plain = make_loss(TINY)(scores, labels).asnumpy()
    onp.testing.assert_allclose(plain, -log_p[[0, 1], [0, 2]], rtol=1e-6)
    smooth = make_loss(TINY.replace(label_smoothing=0.3))(scores, labels).asnumpy()
    target = onp.full((2, 3), 0.1)
    target[[0, 1], [0, 2]] += 0.7
    onp.testing.assert_allclose(smooth, -(target * log_p).sum(axis=1), rtol=1e-6)


@pytest.mark.parametrize('knobs', [{'momentum': 0.9}, {'momentum': 0.9, 'nesterov': True},
                                   {'weight_decay': 1e-3}, {'label_smoothing': 0.1},
                                   {'schedule': 'cosine', 'warmup_epochs': 1.5}])
def test_every_knob_trains(knobs):
    recipe = TINY.replace(epochs=5, lr=0.1 if 'momentum' in knobs else 0.5, **knobs)
    _, history = run(recipe)
    assert history.epochs[-1].train_acc >= 0.9 and history.column('loss')[-1] < history.column('loss')[0]


# ---- what train refuses ----------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs, message', [
    ({'recipe': {'lr': 0.1}}, 'recipe must be a Recipe'),
    ({'resume': True}, 'resume=True needs a run_dir'),
    ({'resume': True, 'overwrite': True, 'run_dir': 'x'}, 'resume and overwrite exclude each other'),
    ({'resume': 1, 'run_dir': 'x'}, 'resume must be True or False'),
    ({'devices': []}, 'devices must name at least one device'),
    ({'devices': 'tpu'}, "unknown device 'tpu'"),
    ({'devices': 'cpu:0,0'}, 'devices lists cpu.0. 2 times'),
])
def test_bad_arguments_are_named(kwargs, message):
    net, (train_iter, test_iter) = build_model(TINY), loaders()
    args = {'recipe': TINY, **quiet(), **kwargs}
    with pytest.raises(ValueError, match=message):
        train(net, train_iter, test_iter, **args)


def test_a_net_that_is_not_the_recipes_model_is_refused():
    with pytest.raises(ValueError, match=r"net is not the recipe's model \(densenet, growth_rate 4.*build_model"):
        train(build_model(TINY.replace(growth_rate=8)), *loaders(), TINY, **quiet())
    three_blocks = TINY.replace(convs_per_block=(1, 1, 1), resize=16)    # the deck's bug shows from 3 blocks on
    with pytest.raises(ValueError, match="net is not the recipe's model .densenet,"):
        train(build_model(three_blocks.replace(model='densenet-deck')), *loaders(three_blocks), three_blocks,
              **quiet())
    with pytest.raises(ValueError, match='net must be a Gluon HybridBlock'):
        train(gluon.nn.Sequential(), *loaders(), TINY, **quiet())


@pytest.mark.parametrize('loader_changes, message', [
    ({'batch_size': 20}, 'train_iter has batch_size=20, the recipe asks for 30'),
    ({'seed': 1}, 'train_iter has seed=1, the recipe asks for 0'),
    ({'shuffle': False}, 'train_iter has shuffle=False'),
    ({'resize': 16}, 'train_iter resizes images to 16 px, the recipe to 12'),
])
def test_loaders_that_disagree_with_the_recipe_are_refused(loader_changes, message):
    options = {'batch_size': TINY.batch_size, 'resize': TINY.resize, 'shuffle': True, 'seed': 0, **loader_changes}
    train_iter = BatchLoader(*level_images(), **options)
    with pytest.raises(ValueError, match=message):
        train(build_model(TINY), train_iter, loaders()[1], TINY, **quiet())


def test_a_batch_of_another_size_is_refused_at_the_first_batch():
    class Plain:                     # a loader that does not say its sizes: its first batch is checked
        def __len__(self):
            return 2

        def __iter__(self):
            yield np.zeros((30, 1, 16, 16)), np.zeros(30, dtype='int32')
    with pytest.raises(ValueError, match=r'train_iter gave a batch of shape \(30, 1, 16, 16\).*12 x 12 px'):
        train(build_model(TINY), Plain(), loaders()[1], TINY, **quiet())


def test_a_batch_larger_than_memory_is_refused_with_the_estimate(monkeypatch):
    monkeypatch.setattr('d2l_extras.preflight.free_memory', lambda device: 2 ** 20)
    big = TINY.replace(batch_size=4096)
    with pytest.raises(ValueError, match=r'batch_size 4096 needs about .* GiB .* on cpu\(0\).*has 0.0 GiB '
                                         r'available: use batch_size \d+ or less'):
        train(build_model(big), *loaders(big), big, **quiet())


# ---- checkpoints and resume ------------------------------------------------------------------------
def test_checkpoint_round_trip_gives_identical_predictions(tmp_path):
    net, _ = run(TINY.replace(epochs=2), run_dir=tmp_path)
    X, _ = next(iter(loaders()[1]))
    restored = build_model(TINY)
    checkpoint = load_checkpoint(tmp_path, restored)
    assert checkpoint.epoch == 2 and checkpoint.recipe == TINY.replace(epochs=2)
    onp.testing.assert_allclose(predictions(net, X), predictions(restored, X), rtol=1e-5, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['checkpoint.json', 'epoch-002.params', 'epoch-002.states',
                                                          'final.params', 'final.params.sha256', 'metrics.json']


@pytest.mark.parametrize('knobs, devices', [({}, 'cpu'),
                                             ({'schedule': 'cosine', 'momentum': 0.9, 'warmup_epochs': 0.5}, 'cpu'),
                                             ({'momentum': 0.9, 'nesterov': True}, 'cpu:0,1')])
def test_resume_continues_the_same_run(tmp_path, knobs, devices):
    recipe = TINY.replace(**knobs)
    _, straight = run(recipe, devices=devices)
    train_iter, test_iter = loaders(recipe)
    run(recipe, loaders=(InterruptAt(train_iter, epoch=2, batch=1), test_iter), run_dir=tmp_path, devices=devices)
    for _ in range(7):              # nets built in between (a notebook re-runs cells): their names move on
        build_model(recipe)
    lines = []
    _, resumed = run(recipe, run_dir=tmp_path, resume=True, devices=devices, log=lines.append)
    assert resumed.column('epoch') == [1, 2, 3]
    assert lines[0] == f'resumed from {tmp_path} after epoch 1' and lines[1].startswith('epoch 2,')
    # same shuffles, same parameters, same momentum on the same parameters, same point of the schedule
    onp.testing.assert_allclose(resumed.column('loss'), straight.column('loss'), rtol=1e-6)


def test_resume_with_more_epochs_applies_and_records_the_change(tmp_path):
    run(TINY.replace(epochs=2), run_dir=tmp_path)
    lines = []
    _, history = run(TINY.replace(epochs=3), run_dir=tmp_path, resume=True, log=lines.append)
    assert len(history) == 3
    assert lines[0] == f'resumed from {tmp_path} after epoch 2; epochs 2 -> 3 (recorded in checkpoint.json)'
    change = {'after_epoch': 2, 'field': 'epochs', 'from': 2, 'to': 3}
    assert json.loads((tmp_path / 'checkpoint.json').read_text())['changes'] == [change]
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['changes'] == [change] and metrics['recipe']['epochs'] == 3 and metrics['complete']


def test_resume_refuses_another_recipe_and_fewer_epochs(tmp_path):
    run(TINY.replace(epochs=2), run_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"lr: 0.5 in the checkpoint, 0.01 asked.*Checkpoint: tiny.*Asked: tiny"):
        run(TINY.replace(epochs=2, lr=0.01), run_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointError, match=r'epochs: 2 in the checkpoint, 1 asked \(its 2 epochs are done'):
        run(TINY.replace(epochs=1), run_dir=tmp_path, resume=True)
    lines = []
    _, history = run(TINY.replace(epochs=2), run_dir=tmp_path, resume=True, log=lines.append)
    assert len(history) == 2 and lines[-1].startswith('nothing to train: ')


def test_a_run_folder_holding_a_run_needs_resume_or_overwrite(tmp_path):
    run(TINY.replace(epochs=2), run_dir=tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(RunFolderError, match='already holds a run .* --resume .* --overwrite'):
        run(TINY, run_dir=tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before      # nothing deleted
    lines = []
    _, history = run(TINY, run_dir=tmp_path, overwrite=True, log=lines.append)
    assert lines[0] == f'overwrote the earlier run in {tmp_path}' and len(history) == TINY.epochs
    assert json.loads((tmp_path / 'checkpoint.json').read_text())['epoch'] == TINY.epochs


# ---- Ctrl-C, divergence ----------------------------------------------------------------------------
def test_ctrl_c_keeps_the_last_complete_epoch(tmp_path):
    train_iter, test_iter = loaders()
    lines = []
    net, history = run(loaders=(InterruptAt(train_iter, epoch=2, batch=3), test_iter), run_dir=tmp_path,
                       log=lines.append)
    assert history.interrupted and len(history) == 1
    assert lines[-1] == f'interrupted during epoch 2: epoch 1 kept in {tmp_path}'
    X, _ = next(iter(test_iter))
    net(X)                                                   # the net (the kernel) is still usable
    restored = build_model(TINY)
    assert load_checkpoint(tmp_path, restored).epoch == 1
    assert onp.isfinite(predictions(restored, X)).all()
    assert not list(tmp_path.glob('.*')) and json.loads((tmp_path / 'metrics.json').read_text())['interrupted']


def test_interrupt_while_saving_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    net, _ = run(TINY.replace(epochs=1), run_dir=tmp_path)
    X, _ = next(iter(loaders()[1]))
    after_one = predictions(net, X)
    real_write_json = runs.write_json

    def write_json(path, value):                             # Ctrl-C just before the commit point
        if path.name == 'checkpoint.json':
            raise KeyboardInterrupt
        return real_write_json(path, value)

    monkeypatch.setattr(runs, 'write_json', write_json)
    _, history = run(TINY.replace(epochs=3), run_dir=tmp_path, resume=True)
    assert history.interrupted and len(history) == 1
    monkeypatch.undo()
    restored = build_model(TINY)
    assert load_checkpoint(tmp_path, restored).epoch == 1
    onp.testing.assert_allclose(predictions(restored, X), after_one, rtol=1e-5, atol=1e-6)
    assert not list(tmp_path.glob('.*tmp*'))


def test_interrupt_just_after_the_commit_point_keeps_that_epoch_in_the_metrics_too(tmp_path, monkeypatch):
    real_write_json = runs.write_json

    def write_json(path, value):                             # Ctrl-C once checkpoint.json of epoch 2 is in place
        real_write_json(path, value)
        if path.name == 'checkpoint.json' and value['epoch'] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(runs, 'write_json', write_json)
    lines = []
    _, history = run(TINY.replace(epochs=3), run_dir=tmp_path, log=lines.append)
    monkeypatch.undo()
    assert history.interrupted and len(history) == 2
    assert lines[-1] == f'interrupted during epoch 2: epoch 2 kept in {tmp_path}'
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['interrupted'] and len(metrics['epochs']) == read_checkpoint(tmp_path).epoch == 2


class PoisonAt(InterruptAt):
    """A loader whose batch ``batch`` of pass ``epoch`` is NaN (what a blown-up step gives)."""

    def __iter__(self):
        self.passes += 1
        for i, (X, y) in enumerate(self.loader, 1):
            yield (X * math.nan if (self.passes, i) == self.stop else X), y


def nan_loss_at(monkeypatch, epoch, batch):
    """Make the loss of batch ``batch`` of epoch ``epoch`` NaN, as a blown-up step gives."""
    real, calls = training.make_loss, []

    def make_loss(recipe):
        loss = real(recipe)

        def poisoned(scores, labels):
            calls.append(1)
            return loss(scores, labels) * (math.nan if len(calls) == (epoch - 1) * 4 + batch else 1)
        return poisoned
    monkeypatch.setattr(training, 'make_loss', make_loss)


def test_a_diverged_run_stops_at_once_says_where_and_keeps_the_last_good_epoch(tmp_path, monkeypatch):
    nan_loss_at(monkeypatch, epoch=2, batch=2)
    lines = []
    _, history = run(run_dir=tmp_path, log=lines.append)
    assert history.diverged.startswith('diverged: the training loss is nan at epoch 2, batch 2 ')
    assert history.diverged.endswith(f'epoch 1 is kept in {tmp_path}') and lines[-1] == history.diverged
    assert len(history) == 1 and load_checkpoint(tmp_path, build_model(TINY)).epoch == 1
    metrics = json.loads((tmp_path / 'metrics.json').read_text())
    assert metrics['diverged'] == history.diverged and not metrics['complete']
    assert not (tmp_path / 'final.params').exists()


def test_parameters_that_are_no_longer_finite_stop_the_run_even_when_the_loss_looks_fine():
    train_iter, test_iter = loaders()                        # a NaN batch: ReLU hides it from the loss
    _, history = run(loaders=(PoisonAt(train_iter, epoch=2, batch=2), test_iter))
    assert history.diverged.startswith('diverged: the parameters are no longer finite at epoch 2, batch 2 ')
    assert len(history) == 1


def test_the_largest_learning_rate_allowed_can_diverge_and_is_a_diverged_run_not_a_result():
    _, history = run(TINY.replace(lr=MAX_LR))
    assert 'diverged: the training loss is' in history.diverged and 'at epoch 1, batch' in history.diverged


@pytest.mark.parametrize('num_epochs', [0, -3, 2.5, 'abc', None, math.nan, True, 1001])
def test_the_live_plot_refuses_a_number_of_epochs_that_is_none(num_epochs):
    with pytest.raises(ValueError, match=r'num_epochs must be an integer from 1 to 1,000, got'):
        LivePlot(num_epochs)


def test_the_live_plot_takes_numpy_integers_and_refuses_a_title_that_is_no_text():
    assert LivePlot(onp.int64(3)).num_epochs == 3
    with pytest.raises(ValueError, match='title must be a string, got 3'):
        LivePlot(3, title=3)


def test_ctrl_c_in_the_first_epoch_of_a_run_with_a_folder_says_nothing_was_saved(tmp_path):
    train_iter, test_iter = loaders()
    lines = []
    _, history = run(loaders=(InterruptAt(train_iter, epoch=1, batch=2), test_iter), run_dir=tmp_path / 'run',
                     log=lines.append)
    assert history.interrupted and len(history) == 0
    assert lines[-1] == ('interrupted during epoch 1, before the first checkpoint (at the end of epoch 1): nothing '
                         'was saved; start again the same way')
    assert not (tmp_path / 'run').exists()
    _, history = run(loaders=(InterruptAt(train_iter, epoch=3, batch=2), test_iter), log=lines.append)
    assert lines[-1] == 'interrupted during epoch 3: 2 complete epoch(s) in the returned history'


def test_the_live_plot_survives_an_infinite_loss_and_marks_the_stop():
    plot = LivePlot(3, title='tiny')
    plot.add(0.5, train_loss=1.2, train_acc=0.5)
    plot.add(1.0, train_loss=math.inf, train_acc=0.1)
    plot.add(1.2, train_loss=math.nan)
    plot.diverged(1.2, 'diverged at epoch 2, batch 1')
    assert plot.ax.get_ylim() == (0, 1.2)
    assert plot.ax.get_title() == 'diverged at epoch 2, batch 1'


def test_the_live_plot_title_says_how_much_of_the_run_is_done():
    plot = LivePlot(4, title='tiny')
    assert plot.ax.get_title() == 'tiny: 0% of 4 epochs' and plot.ax.get_legend() is None
    plot.add(0.5, train_loss=1.2, train_acc=0.5)
    plot.add(1.0, test_acc=0.6)                     # one point per epoch: drawn as a marker from the first
    assert plot.ax.get_title() == 'tiny: 25% of 4 epochs'
    assert [line.get_marker() for line in plot.ax.get_lines()][-1] == 'o'
    assert LivePlot(1).ax.get_title() == '0% of 1 epoch'


def test_train_draws_the_divergence_on_the_live_plot(monkeypatch):
    drawn = []
    monkeypatch.setattr(LivePlot, 'diverged', lambda self, x, message: drawn.append((x, message)))
    train_iter, test_iter = loaders()
    net = build_model(TINY)
    history = train(net, PoisonAt(train_iter, epoch=1, batch=3), test_iter, TINY, plot=True, progress=False,
                    log=lambda line: None)
    assert drawn == [(pytest.approx(3 / len(train_iter)), history.diverged)]


def test_history_round_trips_through_a_dict():
    from d2l_extras.history import Epoch, History
    history = History([Epoch(1, 0.5, 0.8, 0.85, 12.0, 100.0)], interrupted=True, diverged='diverged: ...')
    assert History.from_dict(json.loads(json.dumps(history.to_dict()))) == history
    assert history.epochs[0].line() == 'epoch 1, loss 0.5000, train acc 0.800, test acc 0.850, time 12.0 sec'
