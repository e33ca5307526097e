"""``python -m d2l_extras.train``: one-line errors and exit codes, run folders that keep their work, --resume
that checks the recipe, Ctrl-C, full disks, and the same recipe as notebook 04."""
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as onp
import pytest

from conftest import write_idx
from d2l_extras import data, devices, recipes, train as cli, training
from d2l_extras.runs import RunFolder
from training_helpers import fill, tmpfs

ROOT = Path(__file__).resolve().parents[1]
#: cpu-quick shrunk to the lesson's DenseNet at its smallest: an epoch of the tiny set takes milliseconds.
FAST = ['--recipe', 'cpu-quick', '--growth-rate', '4', '--convs-per-block', '2', '--resize', '12',
        '--batch-size', '20', '--devices', 'cpu', '--no-progress']


def make_set(folder, n_train, n_test):
    rng = onp.random.default_rng(0)
    folder.mkdir()
    for split, n in (('train', n_train), ('test', n_test)):
        image_name, label_name = data.FILES[split]
        write_idx(folder / image_name, rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / label_name, onp.arange(n) % 10)
    return folder


@pytest.fixture
def tiny_set(tmp_path, monkeypatch):
    """Forty training and twenty test images of Fashion-MNIST's format, found through $FASHION_MNIST_DIR."""
    monkeypatch.setattr(data, 'SPLIT_SIZES', {'train': 40, 'test': 20})
    monkeypatch.delenv(recipes.ENV_VAR, raising=False)
    data._read_split.cache_clear()
    monkeypatch.setenv(data.ENV_VAR, str(make_set(tmp_path / 'fashion', 40, 20)))
    yield tmp_path
    data._read_split.cache_clear()


def cli_run(argv, capsys):
    """Exit code, stdout and stderr of ``python -m d2l_extras.train ARGV`` run in this process."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:                  # argparse
        code = exit_info.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err):
    """The error, checked to be one line on stderr and no traceback."""
    assert err.startswith('error: ') or ': error: ' in err, err
    assert err.count('\n') == 1 and 'Traceback' not in err, err
    return err


# ---- flags and refusals -------------------------------------------------------------------------
@pytest.mark.parametrize('flags, message', [
    (['--epochs', '-1'], '--epochs: epochs must be an integer from 1 to 1,000, got -1'),
    (['--epochs', '1000000000'], '--epochs: epochs must be an integer from 1 to 1,000, got 1000000000'),
    (['--epochs', 'two'], "argument --epochs: must be an integer, got 'two'"),
    (['--resize', '28'], '--resize: resize must be an integer from 29 to 1,024, got 28'),
    (['--resize', '1000000'], '--resize: resize must be an integer from 29 to 1,024, got 1000000'),
    (['--batch-size', '0'], '--batch-size: batch_size must be an integer from 1 to 4,096, got 0'),
    (['--lr', '0'], '--lr: lr must be a finite number in (0, 10], got 0.0'),
    (['--lr', 'nan'], '--lr: lr must be a finite number in (0, 10], got nan'),
    (['--lr', '1e9'], '--lr: lr must be a finite number in (0, 10], got 1000000000.0'),
    (['--weight-decay', '1e9'], '--weight-decay: weight_decay must be a finite number in [0, 0.1], got 1000000000.0'),
    (['--model', 'deck'], "--model: model must be one of 'densenet', 'densenet-deck', 'densenet-bc'"),
    (['--recipe', 'full', '--nesterov'], '--nesterov: nesterov=True needs momentum > 0'),
    (['--convs-per-block', '4,x'], "argument --convs-per-block: must be integers separated by commas"),
    (['--devices', 'tpu'], "--devices: unknown device 'tpu': use auto, cpu, cpu:0,1, gpu or gpu:0,1"),
    (['--devices', 'gpu:x'], "--devices: unknown device 'gpu:x'"),
    (['--devices', 'cpu:\u00b2'], "error: --devices: unknown device 'cpu:\u00b2': use auto, cpu, cpu:0,1, gpu or gpu:0,1\n"),
    (['--devices', 'cpu:0,0'], "--devices lists cpu(0) 2 times, got 'cpu:0,0': name each device once"),
    (['--recipe', 'huge'], 'argument --recipe/--profile: invalid choice'),
    (['--resume', '--overwrite'], 'argument --overwrite: not allowed with argument --resume'),
    ([], 'the following arguments are required: --out'),
])
def test_bad_flags_are_one_line_errors_with_exit_code_2(flags, message, capsys, tmp_path):
    argv = flags + ([] if flags == [] else ['--out', str(tmp_path / 'run')])
    code, _, err = cli_run(argv, capsys)
    assert code == 2 and message in one_line_error(err)
    assert not (tmp_path / 'run').exists()


def outside(name: str, base: recipes.Recipe) -> list[str]:
    """Texts of flag values just outside the range of recipe field ``name`` (at both ends), for recipe ``base``."""
    bound = recipes.RANGES[name]
    low, high = (b.of(base) if isinstance(b, recipes.Bound) else b for b in (bound.low, bound.high))
    if bound.most is not None:
        return [str(low - 1), str(high + 1), ','.join([str(low)] * (bound.most + 1))]
    if bound.integer:
        return [str(low - 1), str(high + 1)]
    return [repr(low if bound.low_open else low - 0.5), repr(high if bound.high_open else high * 1.5)]


@pytest.mark.parametrize('name', sorted(recipes.RANGES))
def test_every_numeric_flag_refuses_a_value_outside_its_range_naming_the_flag(name, capsys, tmp_path):
    flag = '--' + name.replace('_', '-')
    for value in outside(name, recipes.get_recipe('cpu-quick')):
        code, _, err = cli_run(['--recipe', 'cpu-quick', flag, value, '--out', str(tmp_path / 'run')], capsys)
        assert code == 2 and one_line_error(err).startswith(f'error: {flag}: {name}'), (value, err)
        assert 'must be ' in err and not (tmp_path / 'run').exists()


def test_help_gives_each_numeric_flag_its_range(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(['--help'])
    said = ' '.join(capsys.readouterr().out.split())
    for name, bound in recipes.RANGES.items():
        assert ' '.join(bound.describe().split()) in said, name


def test_every_recipe_field_is_a_flag_so_a_new_field_needs_no_cli_change():
    flags = {option for action in cli.build_parser()._actions for option in action.option_strings}
    for name in recipes.field_names():
        assert ('--' + name.replace('_', '-') in flags) == (name != 'name'), name
    args = cli.build_parser().parse_args(['--out', 'x', '--momentum', '0.9', '--nesterov', '--convs-per-block', '2,3'])
    assert (args.momentum, args.nesterov, args.convs_per_block, args.lr) == (0.9, True, (2, 3), None)


def test_a_gpu_that_does_not_work_is_refused(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(devices, 'usable_gpus', lambda: ([], 'no GPU here'))
    code, _, err = cli_run(['--devices', 'gpu:0', '--out', str(tmp_path)], capsys)
    assert code == 2 and 'GPU 0 not usable: no GPU here' in one_line_error(err)


def test_a_bogus_recipe_in_the_environment_is_refused(tiny_set, monkeypatch, capsys):
    monkeypatch.setenv(recipes.ENV_VAR, 'bogus')
    code, _, err = cli_run(['--devices', 'cpu', '--out', str(tiny_set / 'run')], capsys)
    assert code == 2 and "$DENSENET_RECIPE must be one of 'full', " in one_line_error(err)
    assert "got 'bogus'" in one_line_error(err)


def test_no_data_anywhere_is_one_line_and_leaves_no_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / 'nonexistent'))
    monkeypatch.setattr(data, 'DEBIAN_DIR', tmp_path / 'debian')
    monkeypatch.setenv('MXNET_HOME', str(tmp_path / 'mxnet-home'))
    monkeypatch.setattr(data, '_network_ok', lambda timeout=3.0: False)
    code, _, err = cli_run(FAST + ['--out', str(tmp_path / 'run')], capsys)
    assert code == 2 and one_line_error(err).startswith('error: Fashion-MNIST not found. Looked in: 1. ')
    assert not (tmp_path / 'run').exists()


def test_an_out_that_is_a_file_is_refused(tiny_set, capsys):
    (tiny_set / 'notes.txt').write_text('mine')
    code, _, err = cli_run(FAST + ['--out', str(tiny_set / 'notes.txt')], capsys)
    assert code == 2 and 'notes.txt is a file, not a folder' in one_line_error(err)
    assert (tiny_set / 'notes.txt').read_text() == 'mine'


def test_a_batch_larger_than_memory_is_refused_with_the_estimate(tiny_set, capsys, monkeypatch):
    monkeypatch.setattr('d2l_extras.preflight.free_memory', lambda device: 2 ** 20)     # a device with 1 MiB free
    code, _, err = cli_run(FAST + ['--batch-size', '4096', '--resize', '32', '--out', str(tiny_set / 'run')], capsys)
    assert code == 2 and 'batch_size 4096 needs about ' in one_line_error(err) and ' GiB available: use' in err
    assert not (tiny_set / 'run').exists()


def test_full_and_read_only_disks_are_found_before_training(tiny_set, capsys):
    with tmpfs(tiny_set / 'full', 512):
        code, out, err = cli_run(FAST + ['--out', str(tiny_set / 'full' / 'run')], capsys)
        assert code == 2 and 'free; this run needs at least' in one_line_error(err) and 'epoch 1,' not in out
        assert list((tiny_set / 'full').iterdir()) == []
    with tmpfs(tiny_set / 'ro', 4096, read_only=True):
        code, out, err = cli_run(FAST + ['--out', str(tiny_set / 'ro' / 'run')], capsys)
        assert code == 2 and 'Read-only file system' in one_line_error(err) and 'epoch 1,' not in out


# ---- runs ------------------------------------------------------------------------------------------
def test_a_run_writes_its_folder(tiny_set, capsys):
    out = tiny_set / 'run'
    code, printed, _ = cli_run(FAST + ['--epochs', '2', '--out', str(out)], capsys)
    assert code == 0
    expected = recipes.get_recipe('cpu-quick').replace(name='custom', growth_rate=4, convs_per_block=(2,), resize=12,
                                                       batch_size=20, epochs=2)   # no longer cpu-quick itself
    assert f'recipe {expected.describe()}' in printed
    assert 'epoch 1, loss ' in printed and 'epoch 2, loss ' in printed and printed.endswith('final.params\n')
    metrics = json.loads((out / 'metrics.json').read_text())
    assert [e['epoch'] for e in metrics['epochs']] == [1, 2] and metrics['complete'] and not metrics['interrupted']
    assert metrics['recipe'] == expected.to_dict()
    assert {p.name for p in out.iterdir()} == {'metrics.json', 'checkpoint.json', 'epoch-002.params',
                                               'epoch-002.states', 'final.params', 'final.params.sha256'}
    digest = subprocess.run(['sha256sum', '-c', 'final.params.sha256'], cwd=out, capture_output=True, text=True)
    assert digest.returncode == 0 and 'final.params: OK' in digest.stdout


def test_rerunning_on_a_run_needs_resume_or_overwrite_and_keeps_the_checkpoints(tiny_set, capsys):
    out = tiny_set / 'run'
    assert cli_run(FAST + ['--epochs', '2', '--out', str(out)], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, err = cli_run(FAST + ['--out', str(out)], capsys)
    assert code == 2 and 'already holds a run' in one_line_error(err) and '--resume' in err and '--overwrite' in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    code, printed, _ = cli_run(FAST + ['--out', str(out), '--overwrite'], capsys)
    assert code == 0 and f'overwrote the earlier run in {out}' in printed
    assert json.loads((out / 'checkpoint.json').read_text())['epoch'] == recipes.get_recipe('cpu-quick').epochs


def test_the_cli_trains_with_the_recipes_schedule(tiny_set, monkeypatch, capsys):
    used = []
    monkeypatch.setattr(training, 'learning_rate',
                        lambda recipe, update, per_epoch: used.append(
                            (recipe.schedule, update, per_epoch)) or LEARNING_RATE(recipe, update, per_epoch))
    assert cli_run(FAST + ['--epochs', '2', '--out', str(tiny_set / 'run')], capsys)[0] == 0
    assert used == [('cosine', t, 2) for t in range(1, 5)]


LEARNING_RATE = training.learning_rate


@pytest.mark.parametrize('flags, message', [
    (['--recipe', 'full'], 'resize: 12 in the checkpoint, 96 asked'),
    (['--lr', '0.01'], 'lr: 0.1 in the checkpoint, 0.01 asked'),
    (['--model', 'densenet-deck'], "model: 'densenet' in the checkpoint, 'densenet-deck' asked"),
    (['--epochs', '1'], 'epochs: 2 in the checkpoint, 1 asked (its 2 epochs are done; epochs can only grow)'),
])
def test_resume_refuses_another_recipe_showing_both(tiny_set, capsys, flags, message):
    out = tiny_set / 'run'
    cli_run(FAST + ['--epochs', '2', '--out', str(out)], capsys)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    argv = (FAST + ['--epochs', '2'] if flags[0] != '--recipe' else ['--devices', 'cpu', '--no-progress'])
    code, _, err = cli_run(argv + flags + ['--out', str(out), '--resume'], capsys)
    assert code == 2 and message in one_line_error(err)
    assert 'Checkpoint: custom: densenet (growth 4' in err and 'Asked: ' in err and 'AssertionError' not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resume_without_flags_continues_with_the_checkpoints_recipe(tiny_set, capsys):
    out = tiny_set / 'run'
    cli_run(FAST + ['--epochs', '2', '--out', str(out)], capsys)
    code, printed, _ = cli_run(['--devices', 'cpu', '--no-progress', '--out', str(out), '--resume'], capsys)
    assert code == 0 and 'nothing to train: ' in printed and 'already holds all 2 epochs' in printed
    code, printed, _ = cli_run(['--devices', 'cpu', '--no-progress', '--epochs', '3', '--out', str(out), '--resume'],
                               capsys)
    assert code == 0 and 'epochs 2 -> 3 (recorded in checkpoint.json)' in printed and 'epoch 3, loss' in printed


def test_a_damaged_checkpoint_is_one_line_naming_the_file(tiny_set, capsys):
    out = tiny_set / 'run'
    cli_run(FAST + ['--epochs', '2', '--out', str(out)], capsys)
    params = out / 'epoch-002.params'
    params.write_bytes(params.read_bytes()[:100])
    code, _, err = cli_run(FAST + ['--epochs', '3', '--out', str(out), '--resume'], capsys)
    assert code == 2 and f'{params} is damaged: it has 100 bytes' in one_line_error(err)
    (out / 'checkpoint.json').write_text('{"epoch": ')
    code, _, err = cli_run(FAST + ['--epochs', '3', '--out', str(out), '--resume'], capsys)
    assert code == 2 and f'{out / "checkpoint.json"} is damaged: not readable JSON' in one_line_error(err)


def test_a_diverged_run_exits_3_saying_where(tiny_set, capsys, monkeypatch):
    real = training.make_loss                            # a step that blows up: the loss of batch 2 is NaN
    calls = []

    def make_loss(recipe):
        loss = real(recipe)
        return lambda scores, labels: loss(scores, labels) * (math.nan if calls.append(1) or len(calls) == 2 else 1)
    monkeypatch.setattr(training, 'make_loss', make_loss)
    code, printed, err = cli_run(FAST + ['--epochs', '2', '--out', str(tiny_set / 'run')], capsys)
    assert code == 3 and 'diverged: ' in one_line_error(err) and 'at epoch 1, batch ' in err
    assert 'done' not in printed
    assert json.loads((tiny_set / 'run' / 'metrics.json').read_text())['diverged']


SAVE_EPOCH = RunFolder.save_epoch


def filling_the_disk_after_epoch(monkeypatch, epoch):
    """Fill the run folder's disk right after the checkpoint of ``epoch`` is written."""
    real = RunFolder.save_epoch

    def save_epoch(self, net, trainer, recipe, history, *args):
        path = real(self, net, trainer, recipe, history, *args)
        if len(history) == epoch:
            fill(self.path.parent)
        return path
    monkeypatch.setattr(RunFolder, 'save_epoch', save_epoch)


@pytest.mark.parametrize('epochs, failing', [(1, 'final.params'), (2, 'epoch-002.params')])
def test_a_full_disk_exits_3_naming_the_file_and_keeps_the_last_checkpoint(tiny_set, monkeypatch, capsys, epochs,
                                                                           failing):
    with tmpfs(tiny_set / 'disk', 2048) as disk:
        filling_the_disk_after_epoch(monkeypatch, 1)
        code, printed, err = cli_run(FAST + ['--epochs', str(epochs), '--out', str(disk / 'run')], capsys)
        assert code == 3 and f'could not write {disk / "run" / failing} (the disk is full)' in one_line_error(err)
        assert 'done' not in printed
        assert json.loads((disk / 'run' / 'checkpoint.json').read_text())['epoch'] == 1
        (disk / 'filler').unlink()
        monkeypatch.setattr(RunFolder, 'save_epoch', SAVE_EPOCH)
        code, printed, _ = cli_run(FAST + ['--epochs', str(epochs), '--out', str(disk / 'run'), '--resume'], capsys)
        assert code == 0 and 'resumed from' in printed and (disk / 'run' / 'final.params').is_file()


# ---- Ctrl-C and a second run, in real processes -------------------------------------------------------
def start_cli(tmp_path, argv):
    """``python -m d2l_extras.train ARGV`` in a process of its own, on a tiny set of 40 + 20 images."""
    code = ('import sys; from d2l_extras import data; data.SPLIT_SIZES.update(train=40, test=20); '
            'from d2l_extras.train import main; sys.exit(main(sys.argv[1:]))')
    env = {**os.environ, data.ENV_VAR: str(tmp_path / 'fashion'), 'PYTHONPATH': str(ROOT)}
    env.pop(recipes.ENV_VAR, None)
    # Ctrl-C as in a terminal, also when this test runs in the background (a shell starts background jobs with
    # SIGINT ignored, and a child inherits that: it would train on through the test's Ctrl-C).
    return subprocess.Popen([sys.executable, '-c', code, *argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(condition, process, seconds=120):
    deadline = time.time() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.time() < deadline, 'timed out'
        time.sleep(0.05)


def test_ctrl_c_exits_130_keeps_the_epoch_a_second_run_is_refused_and_resume_finishes(tiny_set, capsys):
    out = tiny_set / 'run'
    first = start_cli(tiny_set, FAST + ['--epochs', '1000', '--out', str(out)])
    try:
        wait_for(lambda: (out / 'checkpoint.json').is_file(), first)
        code, _, err = cli_run(FAST + ['--epochs', '1000', '--out', str(out), '--resume'], capsys)
        assert code == 2 and f'in use by another run (process {first.pid}' in one_line_error(err)
        first.send_signal(signal.SIGINT)
        printed, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 130, f'stdout ends:\n{printed[-600:]}\nstderr:\n{err}'
    assert 'interrupted during epoch ' in printed and 'Traceback' not in err
    kept = json.loads((out / 'checkpoint.json').read_text())['epoch']
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['interrupted'] and len(metrics['epochs']) == kept >= 1
    assert not (out / 'run.lock').exists() and not (out / 'final.params').exists()
    assert not list(out.glob('.*'))
    code, printed, _ = cli_run(FAST + ['--epochs', str(kept + 1), '--out', str(out), '--resume'], capsys)
    assert code == 0 and f'resumed from {out} after epoch {kept}' in printed and (out / 'final.params').is_file()


# ---- the CLI and notebook 04 train the same recipe ----------------------------------------------------
def test_the_cli_and_the_notebook_way_give_the_same_losses_batch_by_batch(tmp_path, monkeypatch, capsys):
    """cpu-quick as it is (the real model at 32 px, batch 128), on 300 images: three batches an epoch."""
    monkeypatch.setattr(data, 'SPLIT_SIZES', {'train': 300, 'test': 20})
    data._read_split.cache_clear()
    monkeypatch.setenv(data.ENV_VAR, str(make_set(tmp_path / 'fashion', 300, 20)))
    monkeypatch.delenv(recipes.ENV_VAR, raising=False)
    losses, real = [], training.make_loss

    def recording(recipe):
        loss = real(recipe)
        return lambda scores, labels: (lambda l: losses[-1].append(float(l.mean().item())) or l)(loss(scores, labels))
    monkeypatch.setattr(training, 'make_loss', recording)

    losses.append([])
    assert cli_run(['--profile', 'cpu-quick', '--devices', 'cpu', '--no-progress', '--out', str(tmp_path / 'cli')],
                   capsys)[0] == 0

    losses.append([])
    from d2l_extras.devices import resolve_devices
    from d2l_extras.recipes import build_model, choose_recipe, load_data
    devices, reason = resolve_devices('auto')
    recipe = choose_recipe(on_gpu=devices[0].device_type == 'gpu', name=None)
    net = build_model(recipe)
    train_iter, test_iter = load_data(recipe)
    training.train(net, train_iter, test_iter, recipe, devices=devices, run_dir=tmp_path / 'notebook',
                   progress=False, plot=False)

    assert len(losses[0]) == 3 * recipe.epochs                       # 300 images: 3 batches an epoch
    onp.testing.assert_array_equal(losses[0], losses[1])
    data._read_split.cache_clear()


def test_flags_that_make_another_recipe_change_its_label():
    parse = cli.build_parser().parse_args
    assert cli._recipe(parse(['--out', 'x', '--recipe', 'full', '--epochs', '2']), on_gpu=False).name == 'full'
    modern = ['--momentum', '0.9', '--nesterov', '--weight-decay', '5e-4', '--label-smoothing', '0.1',
              '--warmup-epochs', '0.5', '--schedule', 'cosine']
    assert cli._recipe(parse(['--out', 'x', '--recipe', 'full', *modern]), on_gpu=False).name == 'full-modern'
    assert cli._recipe(parse(['--out', 'x', '--recipe', 'full', '--lr', '0.3']), on_gpu=False).name == 'custom'


# ---- Ctrl-C at every moment of the command ------------------------------------------------------------
def test_ctrl_c_in_the_first_epoch_says_nothing_was_saved_and_leaves_no_folder(tiny_set, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(training, 'train_epoch', interrupted)
    code, printed, err = cli_run(FAST + ['--out', str(tiny_set / 'run')], capsys)
    assert code == 130 and err == '' and 'returned history' not in printed
    assert printed.splitlines()[-1] == ('interrupted during epoch 1, before the first checkpoint (at the end of '
                                        'epoch 1): nothing was saved; start again the same way')
    assert not (tiny_set / 'run').exists()
    assert cli_run(FAST + ['--epochs', '1', '--out', str(tiny_set / 'run')], capsys)[0] == 130   # the same way again


def start_command(cwd, argv):
    """``python -m d2l_extras.train ARGV``, as a user types it, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if k != recipes.ENV_VAR}
    return subprocess.Popen([sys.executable, '-m', 'd2l_extras.train', *argv], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def mapped(process, library):
    """Whether ``process`` has loaded ``library`` (it is in /proc/PID/maps)."""
    try:
        return library in Path(f'/proc/{process.pid}/maps').read_text()
    except OSError:
        return False


def first_line(process):
    """Wait for the first line ``process`` prints on stdout (the devices: MXNet is loaded); return it."""
    return process.stdout.readline()


@pytest.mark.parametrize('moment', ['0.1 s', '0.3 s', 'while MXNet loads', '1.0 s', 'once MXNet is loaded',
                                    'reading the data', 'in epoch 1'])
def test_ctrl_c_at_every_moment_of_the_command_is_one_line_exit_130_and_creates_nothing(tmp_path, moment):
    """The real command on the real data (the smallest model at 12 px, 3,000 batches an epoch), SIGINT at ``moment``."""
    try:
        data.find_fashion_mnist(download=False)
    except data.DataNotFoundError:
        pytest.skip('Fashion-MNIST is not installed (make data)')
    before = sorted(p.name for p in tmp_path.iterdir())
    process = start_command(tmp_path, FAST + ['--out', 'run'])
    try:
        if moment.endswith(' s'):
            time.sleep(float(moment.split()[0]))
        elif moment == 'while MXNet loads':
            wait_for(lambda: mapped(process, 'libmxnet.so'), process, seconds=60)
        else:
            assert first_line(process)                           # the devices are chosen: MXNet is loaded
            time.sleep({'once MXNet is loaded': 0, 'reading the data': 0.2, 'in epoch 1': 2.5}[moment])
        process.send_signal(signal.SIGINT)
        printed, err = process.communicate(timeout=120)
    finally:
        process.kill()
    said = [line for line in (printed + err).splitlines() if 'interrupted' in line]
    assert process.returncode == 130, (moment, printed, err)
    assert 'Traceback' not in err and err.count('\n') <= 1 and len(said) == 1, (moment, printed, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before          # no run folder, no probe file


# ---- kill -9 at the dangerous moments, then --resume ----------------------------------------------------
CRASHING = '''
import os, signal, sys
from d2l_extras import data
data.SPLIT_SIZES.update(train=40, test=20)
when, name, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen, replace = [], os.replace

def crashing_replace(source, target, *args, **kwargs):      # every file of a run is renamed into place
    hit = os.path.basename(target) == name and seen.append(1) is None and len(seen) == nth
    if hit and when == 'before':
        os.kill(os.getpid(), signal.SIGKILL)
    replace(source, target, *args, **kwargs)
    if hit and when == 'after':
        os.kill(os.getpid(), signal.SIGKILL)

os.replace = crashing_replace
from d2l_extras.train import main
sys.exit(main(sys.argv[4:]))
'''


def crash(tmp_path, moment, argv):
    """Run the CLI on the tiny set and kill -9 it at ``moment`` ('after checkpoint.json 2': right after the
    second rename of checkpoint.json into place); check that it died there."""
    when, name, nth = moment.split()
    env = {**os.environ, data.ENV_VAR: str(tmp_path / 'fashion'), 'PYTHONPATH': str(ROOT)}
    env.pop(recipes.ENV_VAR, None)
    done = subprocess.run([sys.executable, '-c', CRASHING, when, name, nth, *argv], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, (done.stdout, done.stderr)


def checksum_ok(folder):
    return subprocess.run(['sha256sum', '-c', 'final.params.sha256'], cwd=folder, capture_output=True).returncode == 0


def assert_complete_and_consistent(out, epochs):
    """The run folder holds a complete run whose final.params is the checkpoint's, with its checksum."""
    from d2l_extras.runs import read_checkpoint
    checkpoint = read_checkpoint(out)
    assert checkpoint.epoch == epochs and checkpoint.recipe.epochs == epochs
    assert (out / 'final.params').read_bytes() == checkpoint.path('params').read_bytes()
    assert checksum_ok(out)
    metrics = json.loads((out / 'metrics.json').read_text())
    assert metrics['complete'] and not metrics['interrupted'] and len(metrics['epochs']) == epochs
    assert metrics['epochs'] == checkpoint.history.to_dict()['epochs']
    assert not list(out.glob('.*')) and not (out / 'run.lock').exists()


@pytest.mark.parametrize('moment', ['after checkpoint.json 2', 'after metrics.json 2', 'before final.params 1',
                                    'after final.params 1', 'after final.params.sha256 1'])
def test_a_crash_at_the_end_of_a_first_run_is_repaired_by_resume(tiny_set, capsys, moment):
    out = tiny_set / 'run'
    crash(tiny_set, moment, FAST + ['--epochs', '2', '--out', str(out)])
    assert not (out / 'final.params.sha256').exists() or checksum_ok(out)       # never another file's checksum
    code, printed, err = cli_run(FAST + ['--epochs', '2', '--out', str(out), '--resume'], capsys)
    assert code == 0 and err == '' and 'nothing to train' in printed and 'done: ' in printed
    assert_complete_and_consistent(out, 2)


@pytest.mark.parametrize('moment', ['after checkpoint.json 1', 'before final.params 1', 'after final.params 1'])
def test_a_crash_at_the_end_of_a_resumed_run_leaves_no_stale_checksum_and_resume_repairs_it(tiny_set, capsys,
                                                                                          moment):
    out = tiny_set / 'run'
    assert cli_run(FAST + ['--epochs', '2', '--out', str(out)], capsys)[0] == 0
    crash(tiny_set, moment, FAST + ['--epochs', '3', '--out', str(out), '--resume'])
    assert not (out / 'final.params.sha256').exists() or checksum_ok(out)       # the issue: epoch 2's checksum
    code, printed, err = cli_run(FAST + ['--epochs', '3', '--out', str(out), '--resume'], capsys)
    assert code == 0 and err == '' and 'done: ' in printed
    assert_complete_and_consistent(out, 3)


def truncate(path):
    path.write_bytes(path.read_bytes()[:-50])


def replace_with_epoch_1(out):
    """A final.params (with a matching checksum) that is not the run's last epoch: a stale pair."""
    from d2l_extras.atomic import sha256_of
    (out / 'final.params').write_bytes((out.parent / 'epoch1' / 'final.params').read_bytes())
    (out / 'final.params.sha256').write_text(f"{sha256_of(out / 'final.params')}  final.params\n")


@pytest.mark.parametrize('damage, said', [
    (lambda out: truncate(out / 'final.params'), 'final.params differed from the checkpoint (damaged or stale)'),
    (lambda out: (out / 'final.params').unlink(), 'final.params was missing: written again from epoch-002.params'),
    (replace_with_epoch_1, 'final.params differed from the checkpoint (damaged or stale)'),
    (lambda out: (out / 'final.params.sha256').write_text('junk\n'), 'final.params.sha256 did not match final.params'),
    (lambda out: (out / 'final.params.sha256').write_bytes(b'\xff\xfe'), 'final.params.sha256 did not match'),
    (lambda out: (out / 'final.params.sha256').unlink(), 'final.params.sha256 was missing: written again'),
    (lambda out: (out / 'metrics.json').write_text('{"epochs": '), 'metrics.json did not record the complete run'),
])
def test_resume_of_a_complete_run_checks_final_params_against_the_checkpoint_and_repairs_it(tiny_set, capsys,
                                                                                           damage, said):
    out = tiny_set / 'run'
    assert cli_run(FAST + ['--epochs', '1', '--out', str(tiny_set / 'epoch1')], capsys)[0] == 0
    assert cli_run(FAST + ['--epochs', '2', '--out', str(out)], capsys)[0] == 0
    damage(out)
    code, printed, err = cli_run(FAST + ['--out', str(out), '--resume'], capsys)
    assert code == 0 and err == '' and said in printed, printed
    assert_complete_and_consistent(out, 2)
    code, printed, _ = cli_run(FAST + ['--out', str(out), '--resume'], capsys)      # now whole: nothing to repair
    assert code == 0 and 'again' not in printed
