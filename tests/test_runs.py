"""Run folders: one run per folder (lock), checked before training, checkpoints that say when they are damaged."""
import json
import os
import subprocess
import sys

import pytest

from d2l_extras.recipes import build_model
from d2l_extras.runs import (CheckpointError, RunFolder, RunFolderError, load_checkpoint, parameter_shapes,
                             read_checkpoint, shape_difference)
from d2l_extras.training import train
from training_helpers import TINY, loaders, quiet, tmpfs

MIB = 2 ** 20


def a_run(folder, recipe=TINY.replace(epochs=2)):
    """A complete tiny run in ``folder``."""
    train(build_model(recipe), *loaders(recipe), recipe, run_dir=folder, **quiet())
    return folder


def dead_pid():
    """The process ID of a process that has ended."""
    done = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'], capture_output=True, text=True)
    return int(done.stdout)


# ---- the lock ----------------------------------------------------------------------------------------
def test_a_second_run_on_a_folder_in_use_is_refused_and_changes_nothing(tmp_path):
    a_run(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    sleeper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        (tmp_path / 'run.lock').write_text(f'{sleeper.pid}\n')
        with pytest.raises(RunFolderError, match=rf'in use by another run \(process {sleeper.pid}; .*run.lock\)'):
            train(build_model(TINY), *loaders(), TINY.replace(epochs=3), run_dir=tmp_path, resume=True, **quiet())
    finally:
        sleeper.kill()
        sleeper.wait()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == {**before, 'run.lock': f'{sleeper.pid}\n'.encode()}


def test_a_stale_lock_is_taken_over_and_said(tmp_path):
    a_run(tmp_path)
    (tmp_path / 'run.lock').write_text(f'{dead_pid()}\n')
    lines = []
    history = train(build_model(TINY), *loaders(), TINY.replace(epochs=3), run_dir=tmp_path, resume=True,
                    progress=False, plot=False, log=lines.append)
    assert len(history) == 3 and f'{tmp_path / "run.lock"} was left by a run that no longer exists: taken over' in lines
    assert not (tmp_path / 'run.lock').exists()                 # released at the end


def test_the_lock_holds_this_processes_id_while_training(tmp_path):
    seen = []
    train(build_model(TINY), *loaders(), TINY, run_dir=tmp_path, progress=False, plot=False,
          log=lambda line: seen.append((tmp_path / 'run.lock').read_text()))
    assert seen[0] == f'{os.getpid()}\n' and not (tmp_path / 'run.lock').exists()


def test_a_lock_left_by_this_process_after_a_crash_is_stale(tmp_path):
    a_run(tmp_path)
    (tmp_path / 'run.lock').write_text(f'{os.getpid()}\n')      # not held: left by an earlier call
    assert RunFolder(tmp_path).holder() is None


# ---- pre-flight ------------------------------------------------------------------------------------
def test_preflight_refuses_a_file_a_foreign_folder_and_an_existing_run(tmp_path):
    (tmp_path / 'notes.txt').write_text('mine')
    with pytest.raises(RunFolderError, match='notes.txt is a file, not a folder'):
        RunFolder(tmp_path / 'notes.txt').preflight(False, False, MIB)
    with pytest.raises(RunFolderError, match=r"holds files that are not a run's \(notes.txt\)"):
        RunFolder(tmp_path).preflight(False, False, MIB)
    run = a_run(tmp_path / 'run')
    with pytest.raises(RunFolderError, match=r'already holds a run \(checkpoint.json, .*--resume.*--overwrite'):
        RunFolder(run).preflight(False, False, MIB)
    RunFolder(run).preflight(True, False, MIB)
    RunFolder(run).preflight(False, True, MIB)


def test_preflight_needs_room_for_two_checkpoints_and_leaves_no_folder_behind(tmp_path):
    with tmpfs(tmp_path / 'disk', 512) as disk:
        with pytest.raises(RunFolderError, match=r'disk has 0.5 MiB free; this run needs at least 1.\d MiB \(two '
                                                 r'checkpoints and the final parameters\)'):
            train(build_model(TINY), *loaders(), TINY, run_dir=disk / 'a' / 'run', **quiet())
        assert list(disk.iterdir()) == []


def test_preflight_refuses_a_read_only_folder(tmp_path):
    with tmpfs(tmp_path / 'disk', 4096, read_only=True) as disk:
        with pytest.raises(RunFolderError, match=r'cannot write in .*disk \(Read-only file system\)'):
            train(build_model(TINY), *loaders(), TINY, run_dir=disk / 'run', **quiet())


def test_nothing_is_created_when_a_check_fails(tmp_path):
    with pytest.raises(ValueError, match='train_iter has batch_size'):
        train(build_model(TINY), *loaders(TINY.replace(batch_size=20)), TINY, run_dir=tmp_path / 'run', **quiet())
    assert list(tmp_path.iterdir()) == []


# ---- damaged checkpoints -----------------------------------------------------------------------------
def damage(folder, how):
    meta_file = folder / 'checkpoint.json'
    meta = json.loads(meta_file.read_text())
    params = folder / meta['files']['params']['name']
    if how == 'truncated params':
        params.write_bytes(params.read_bytes()[:-100])
        return params
    if how == 'missing params':
        params.unlink()
        return params
    if how == 'bad states':
        states = folder / meta['files']['states']['name']
        states.write_bytes(b'not a pickle')
        return states
    if how == 'bad json':
        meta_file.write_text(meta_file.read_text()[:-20])
    elif how == 'missing key':
        del meta['recipe']
        meta_file.write_text(json.dumps(meta))
    elif how == 'bad recipe':
        meta['recipe']['lr'] = -1
        meta_file.write_text(json.dumps(meta))
    return meta_file


@pytest.mark.parametrize('how, why', [
    ('truncated params', 'were written (truncated or changed)'),
    ('missing params', 'it is missing'),
    ('bad states', 'were written (truncated or changed)'),
    ('bad json', 'not readable JSON'),
    ('missing key', "the entry 'recipe' is missing"),
    ('bad recipe', 'lr must be a finite number in (0, 10], got -1'),
])
def test_a_damaged_checkpoint_names_the_file_and_the_fix(tmp_path, how, why):
    run = a_run(tmp_path)
    damaged = damage(run, how)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(run, build_model(TINY))
    message = str(info.value)
    assert message.startswith(f'{damaged} is damaged: ') and why in message
    assert '--overwrite' in message and 'restore the file' in message
    with pytest.raises(CheckpointError, match='is damaged'):
        train(build_model(TINY), *loaders(), TINY.replace(epochs=3), run_dir=run, resume=True, **quiet())


def test_a_net_that_does_not_fit_the_checkpoint_is_refused_in_words(tmp_path):
    run = a_run(tmp_path)
    with pytest.raises(CheckpointError, match=r"the net does not fit the checkpoint in .*parameter '.*' has shape "
                                              r'\(.*\), expected \(.*\)\. It was made by the recipe tiny'):
        load_checkpoint(run, build_model(TINY.replace(growth_rate=8)))


def test_a_missing_checkpoint_is_explained(tmp_path):
    with pytest.raises(CheckpointError, match='no checkpoint in .* \\(no checkpoint.json\\)'):
        read_checkpoint(tmp_path)


def test_shape_difference_ignores_unknown_sizes():
    assert shape_difference({'a': [3, 4]}, {'a': [3, -1]}) is None
    assert shape_difference({'a': [3, 4]}, {'a': [3, 5]}) == "parameter 'a' has shape (3, 5), expected (3, 4)"
    assert shape_difference({'a': [1]}, {}) == "parameter 'a' (1,) is missing"
    net = build_model(TINY)
    assert parameter_shapes(net)['0.weight'] == [64, -1, 7, 7]       # before the first call: in-channels unknown
