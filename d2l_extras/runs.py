"""A run folder: one training run's checkpoints, metrics and final parameters, and the lock that keeps it one run's.

What a run folder holds (``python -m d2l_extras.train --out FOLDER``, or ``train(..., run_dir=FOLDER)``):

- ``run.lock``: while a run uses the folder, the process ID of that run (a second run is refused; a
  lock whose process is gone is stale and taken over);
- ``checkpoint.json``: the last complete epoch: the recipe, the parameter names and shapes, the history,
  the changes made on resume, and the size and SHA-256 of the two files below (written last: a
  checkpoint exists once this file names it);
- ``epoch-NNN.params`` and ``epoch-NNN.states``: the parameters and the trainer state (update count,
  momentum) after epoch NNN;
- ``metrics.json``: the recipe, the devices, every epoch's numbers, the changes and how the run ended;
- ``final.params`` and ``final.params.sha256``: the parameters once every epoch is done (a copy of the
  last checkpoint's), and their SHA-256 (``sha256sum -c final.params.sha256`` checks them).

Every file is written by :mod:`d2l_extras.atomic`: whole or not at all. A crash between two files leaves
the checkpoint whole and ``final.params.sha256`` either right or missing, never another file's; resuming
a complete run (``finish``) rewrites from the checkpoint whatever is missing, stale or damaged.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from .atomic import (checksum_file, checksum_line, mismatch, sha256_of, write_atomic, write_checksum,
                     write_json)
from .errors import error_line
from .history import History
from .recipes import RESUMABLE, Recipe

LOCK, CHECKPOINT, METRICS, FINAL = 'run.lock', 'checkpoint.json', 'metrics.json', 'final.params'
FORMAT = 1                                # of checkpoint.json
RUN_FILE = re.compile(r'(checkpoint\.json|metrics\.json|final\.params(\.sha256)?|epoch-\d{3,}\.(params|states)'
                      r'|run\.lock|\..+\.tmp-\d+)')
FIX_RUN = 'continue it with --resume (resume=True) or start over with --overwrite (overwrite=True)'
_held: set[Path] = set()                  # run folders this process holds the lock of


class RunFolderError(Exception):
    """A run folder that cannot be used as asked: in use, holding another run, not writable, full."""


class CheckpointError(Exception):
    """A checkpoint that is missing, damaged or does not fit the net or the recipe asked for."""


# ---- parameters: what a checkpoint must fit --------------------------------------------------------
def parameter_shapes(net) -> dict[str, list[int]]:
    """``{name: shape}`` of every parameter under the names ``save_parameters`` writes (-1 or 0: not known yet)."""
    return {name: list(p.shape or ()) for name, p in net._collect_params_with_prefix().items()}


def shape_difference(expected: dict[str, list[int]], got: dict[str, list[int]]) -> str | None:
    """The first difference between two ``parameter_shapes`` (an unknown size, 0 or -1, matches any), or None."""
    for name in sorted(set(expected) | set(got)):
        if name not in got:
            return f'parameter {name!r} {tuple(expected[name])} is missing'
        if name not in expected:
            return f'parameter {name!r} {tuple(got[name])} is not expected'
        a, b = expected[name], got[name]
        if len(a) != len(b) or any(x > 0 and y > 0 and x != y for x, y in zip(a, b)):
            return f'parameter {name!r} has shape {tuple(b)}, expected {tuple(a)}'
    return None


def parameter_bytes(net) -> int:
    """Bytes of all parameters of a net whose shapes are known, in float32 (what a .params file holds)."""
    return sum(4 * math.prod(shape) for shape in parameter_shapes(net).values())


def _load_arrays(path: Path) -> dict:
    """The arrays of a .params file, as ``load_parameters`` reads them."""
    from mxnet import ndarray, npx
    from mxnet.util import is_np_array
    return (npx.load if is_np_array() else ndarray.load)(str(path))


def _check_params_file(net) -> Callable[[Path], None]:
    """A read-back check: the file holds every parameter of ``net`` with its shape."""
    expected = parameter_shapes(net)

    def check(path: Path) -> None:
        got = {name: list(a.shape) for name, a in _load_arrays(path).items()}
        difference = shape_difference(expected, got)
        if difference:
            raise OSError(f'it does not read back as written: {difference}')
    return check


def _check_pickle(path: Path) -> None:
    """A read-back check: the file is a complete pickle (the trainer's state)."""
    pickle.loads(path.read_bytes())


# ---- reading a checkpoint ------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """What ``checkpoint.json`` says, checked: the recipe, the parameters, the history and the files."""
    folder: Path
    epoch: int
    recipe: Recipe
    parameters: dict[str, list[int]]
    history: History
    files: dict[str, dict]
    changes: list[dict] = field(default_factory=list)

    def path(self, kind: str) -> Path:
        """The file of ``kind`` ('params' or 'states')."""
        return self.folder / self.files[kind]['name']


def _damaged(path: Path, why: str) -> CheckpointError:
    """The error for a damaged checkpoint file: which, what is wrong, and the two ways on."""
    return CheckpointError(f'{path} is damaged: {why}. The run in {path.parent} cannot continue from it: '
                           'start over with --overwrite (overwrite=True) or restore the file from a copy')


def read_checkpoint(folder: Path | str) -> Checkpoint:
    """The checkpoint in ``folder``, with every file checked against its recorded size and SHA-256."""
    folder = Path(folder)
    meta_file = folder / CHECKPOINT
    if not meta_file.is_file():
        raise CheckpointError(f'no checkpoint in {folder} (no {CHECKPOINT}): start a run there first')
    try:
        meta = json.loads(meta_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _damaged(meta_file, f'not readable JSON ({e})') from None
    try:
        if meta['format'] != FORMAT:
            raise ValueError(f"format {meta['format']!r}, this version reads format {FORMAT}")
        checkpoint = Checkpoint(folder, int(meta['epoch']), Recipe.from_dict(meta['recipe']),
                                dict(meta['parameters']), History.from_dict(meta['history']),
                                {kind: dict(meta['files'][kind]) for kind in ('params', 'states')},
                                list(meta.get('changes', [])))
        for record in checkpoint.files.values():
            record['name'], record['bytes'], record['sha256']     # noqa: B018 - must be there
    except KeyError as e:
        raise _damaged(meta_file, f'the entry {e} is missing') from None
    except (TypeError, ValueError, AttributeError) as e:
        raise _damaged(meta_file, str(e)) from None
    if len(checkpoint.history) != checkpoint.epoch:
        raise _damaged(meta_file, f'epoch {checkpoint.epoch} but {len(checkpoint.history)} epochs of history')
    for kind in checkpoint.files:
        why = mismatch(checkpoint.path(kind), checkpoint.files[kind])
        if why:
            raise _damaged(checkpoint.path(kind), f'{why} (named by {CHECKPOINT})')
    return checkpoint


def load_checkpoint(folder: Path | str, net, trainer=None, devices=None) -> Checkpoint:
    """Load the last complete epoch in ``folder`` into ``net`` (and ``trainer``); returns the checkpoint.

    A net whose parameters differ from the checkpoint's (another model, growth rate or layout) is refused
    with the first difference, before MXNet sees the file.
    """
    from mxnet.base import MXNetError
    from .devices import resolve_devices
    checkpoint = read_checkpoint(folder)
    difference = shape_difference(checkpoint.parameters, parameter_shapes(net))
    if difference:
        raise CheckpointError(f'the net does not fit the checkpoint in {checkpoint.folder}: {difference}. '
                              f'It was made by the recipe {checkpoint.recipe.describe()}: build the net with '
                              'build_model(recipe) of that recipe (or resume with it)')
    contexts = resolve_devices(devices)[0] if devices is not None else None
    for kind, load in (('params', lambda p: net.load_parameters(str(p), ctx=contexts)),
                       ('states', lambda p: trainer.load_states(str(p)) if trainer is not None else None)):
        try:
            load(checkpoint.path(kind))
        except (MXNetError, OSError, ValueError, AssertionError, EOFError, pickle.UnpicklingError) as e:
            raise _damaged(checkpoint.path(kind), f'it cannot be loaded ({error_line(e)})') from None
    return checkpoint


def resume_changes(checkpoint: Checkpoint, asked: Recipe) -> dict[str, tuple]:
    """The changes of ``asked`` against the checkpoint's recipe that resuming may apply (more epochs only).

    Raises a CheckpointError showing both recipes when the model, the data or the optimizer differ.
    """
    stored, done = checkpoint.recipe, checkpoint.epoch
    differences = stored.differences(asked)
    refused = {k: v for k, v in differences.items() if k not in RESUMABLE}
    if 'epochs' in differences and asked.epochs < done:
        refused['epochs'] = differences['epochs']
    if refused:
        said = '; '.join(f'{k}: {a!r} in the checkpoint, {b!r} asked' for k, (a, b) in refused.items())
        why = (f' (its {done} epochs are done; epochs can only grow)' if 'epochs' in refused else '')
        raise CheckpointError(
            f'{checkpoint.folder} holds a run of another recipe: {said}{why}. Checkpoint: {stored.describe()}. '
            f'Asked: {asked.describe()}. To continue it, ask for the checkpoint\'s recipe (more epochs are '
            'allowed); to start over, use --overwrite (overwrite=True) or another folder')
    return {k: v for k, v in differences.items() if k != 'name'}


# ---- the folder ------------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    """Whether a process with this ID exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:                   # exists, belongs to someone else
        return True
    return True


def _mib(n: float) -> str:
    """Bytes as MiB for a message."""
    return f'{n / 2 ** 20:,.1f} MiB'


class RunFolder:
    """The folder of one run: checked before training, locked while training, written atomically."""

    def __init__(self, path: Path | str) -> None:
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            raise ValueError(f'run_dir must be a folder path (str or Path), got {path!r}')
        self.path = Path(path)
        self.lock = self.path / LOCK

    def run_files(self) -> list[str]:
        """Names of the files of a run in the folder (empty when there is none)."""
        return sorted(p.name for p in self.path.iterdir() if RUN_FILE.fullmatch(p.name)) if self.path.is_dir() else []

    def holder(self) -> str | None:
        """Which live run holds the lock ('process 1234'), or None: no lock, or a stale one."""
        try:
            text = self.lock.read_text()
            age = time.time() - self.lock.stat().st_mtime
        except FileNotFoundError:
            return None
        except OSError as e:
            raise RunFolderError(f'cannot read the lock {self.lock} ({e.strerror}): check its permissions') from None
        match = re.match(r'\s*(\d+)', text)
        if match is None:                     # being written this instant, or damaged long ago
            return 'a run that is starting' if age < 5 else None
        pid = int(match.group(1))
        if pid == os.getpid():                # this process: held now, or left by an earlier call that crashed
            return f'process {pid}, this one' if self.path.resolve() in _held else None
        return f'process {pid}' if _alive(pid) else None

    def preflight(self, resume: bool, overwrite: bool, needed: int) -> None:
        """Everything that can be checked before training, changing nothing on the disk.

        The folder is new, empty or a run folder; a run in it needs ``resume`` or ``overwrite``; no live
        run holds it; it is writable and has ``needed`` bytes free.
        """
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f'{self.path} is a file, not a folder: choose a folder for the run')
        if self.path.is_dir():
            others = sorted(p.name for p in self.path.iterdir() if not RUN_FILE.fullmatch(p.name))
            if others:
                raise RunFolderError(f'{self.path} holds files that are not a run\'s ({", ".join(others[:5])}): '
                                     'choose a new or empty folder for the run')
            self._refuse_if_held()
            if self.run_files() and not (resume or overwrite):
                raise RunFolderError(f'{self.path} already holds a run ({", ".join(self.run_files()[:4])}): '
                                     + FIX_RUN)
        self._check_writable(needed)

    def _refuse_if_held(self) -> None:
        """Raise a RunFolderError naming the live run that holds the lock, if one does."""
        holder = self.holder()
        if holder is not None:
            raise RunFolderError(f'{self.path} is in use by another run ({holder}; {self.lock}): wait for it '
                                 'to finish or choose another folder (if no run uses it, delete the lock)')

    def _check_writable(self, needed: int) -> None:
        """Create and delete a file where the folder is (or will be); check the free space."""
        existing = self.path
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise RunFolderError(f'{existing} is a file, so the run folder {self.path} cannot be made there')
        try:
            fd, probe = tempfile.mkstemp(prefix='.write-test-', dir=existing)
            try:
                os.write(fd, b'x')
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as e:
            raise RunFolderError(f'cannot write in {existing} ({e.strerror}): choose a writable folder for '
                                 f'the run') from None
        free = shutil.disk_usage(existing).free
        if free < needed:
            raise RunFolderError(f'{existing} has {_mib(free)} free; this run needs at least {_mib(needed)} '
                                 '(two checkpoints and the final parameters): free some space or choose '
                                 'another folder')

    @contextlib.contextmanager
    def claim(self, overwrite: bool, log: Callable[[str], None]) -> Iterator['RunFolder']:
        """Create the folder if needed, hold its lock while the block runs, and release it afterwards.

        With ``overwrite``, the earlier run's files are deleted first. A folder this call created is
        removed again if nothing was written into it.
        """
        created = not self.path.exists()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunFolderError(f'cannot create {self.path} ({e.strerror}): choose a writable folder') from None
        try:
            self._lock(log)
        except BaseException:
            self._remove_if_empty(created)
            raise
        try:
            for tmp in self.path.glob('.*.tmp-*'):        # left by a run that crashed mid-write
                tmp.unlink()
            if overwrite and self.run_files() != [LOCK]:
                for name in self.run_files():
                    if name != LOCK:
                        (self.path / name).unlink()
                log(f'overwrote the earlier run in {self.path}')
            yield self
        finally:
            self._unlock()
            self._remove_if_empty(created)

    def _lock(self, log: Callable[[str], None]) -> None:
        """Create ``run.lock`` with this process's ID; take over a stale one; refuse a live one."""
        for _ in range(3):
            try:
                fd = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._refuse_if_held()
                stale = self.lock.with_name(f'.{LOCK}.stale-{os.getpid()}')
                with contextlib.suppress(FileNotFoundError):
                    os.replace(self.lock, stale)
                    stale.unlink()
                    log(f'{self.lock} was left by a run that no longer exists: taken over')
                continue
            try:
                os.write(fd, f'{os.getpid()}\n'.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            _held.add(self.path.resolve())
            return
        raise RunFolderError(f'could not take the lock {self.lock}: another run keeps creating it')

    def _unlock(self) -> None:
        """Remove ``run.lock`` if it is still this process's."""
        _held.discard(self.path.resolve())
        with contextlib.suppress(OSError):
            if self.lock.read_text().split()[:1] == [str(os.getpid())]:
                self.lock.unlink()

    def _remove_if_empty(self, created: bool) -> None:
        """Remove the folder again if this run created it and wrote nothing into it."""
        if created:
            with contextlib.suppress(OSError):
                self.path.rmdir()                 # only if empty

    # ---- writing -------------------------------------------------------------------------------
    def save_epoch(self, net, trainer, recipe: Recipe, history: History, changes: list[dict],
                   devices: list) -> Path:
        """Checkpoint the last complete epoch (params, states, then ``checkpoint.json``) and the metrics.

        The epoch's files carry its number; ``checkpoint.json`` naming them is replaced last, so a failure
        or Ctrl-C at any moment leaves the previous checkpoint whole. Older epochs' files go afterwards.
        """
        n = len(history)
        files = {}
        for kind, write, check in (('params', net.save_parameters, _check_params_file(net)),
                                   ('states', trainer.save_states, _check_pickle)):
            name = f'epoch-{n:03d}.{kind}'
            files[kind] = {'name': name, **write_atomic(self.path / name, lambda tmp, w=write: w(str(tmp)), check)}
        write_json(self.path / CHECKPOINT, {
            'format': FORMAT, 'epoch': n, 'recipe': recipe.to_dict(), 'parameters': parameter_shapes(net),
            'files': files, 'history': history.to_dict(), 'changes': changes})
        self.save_metrics(recipe, history, changes, devices)
        for old in self.path.glob('epoch-*'):                     # only once the new checkpoint is in place
            if old.name not in (files['params']['name'], files['states']['name']):
                old.unlink()
        return self.path / CHECKPOINT

    def saved_epochs(self) -> int:
        """How many epochs the checkpoint in the folder holds (0 if none can be read): what an interruption kept."""
        try:
            return int(json.loads((self.path / CHECKPOINT).read_text())['epoch'])
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            return 0

    def save_metrics(self, recipe: Recipe, history: History, changes: list[dict], devices: list) -> Path:
        """``metrics.json``: the recipe, the devices, every epoch, the changes on resume, how the run ended."""
        write_json(self.path / METRICS, _metrics(recipe, history, changes, [str(d) for d in devices]))
        return self.path / METRICS

    def save_final(self, checkpoint: Checkpoint) -> Path:
        """``final.params``, a copy of the checkpoint's parameters checked against its SHA-256, then its checksum.

        The old ``final.params.sha256`` goes just before the new file takes the name, and the new one comes
        just after: a crash at any moment leaves the checksum beside ``final.params`` right or missing.
        """
        path, record = self.path / FINAL, checkpoint.files['params']
        source = checkpoint.path('params')

        def check(tmp: Path) -> None:
            why = mismatch(tmp, record)
            if why:
                raise OSError(f'the copy of {source.name} is not that file: {why}')
        write_atomic(path, lambda tmp: shutil.copyfile(source, tmp), check,
                     before_rename=lambda: checksum_file(path).unlink(missing_ok=True))
        write_checksum(path, record)
        return path

    def finish(self, recipe: Recipe, history: History, changes: list[dict], devices: list,
               log: Callable[[str], None] | None = None) -> Path:
        """Make ``final.params``, its checksum and ``metrics.json`` those of the complete checkpoint in the folder.

        Writes whichever is missing, stale (another epoch's, or left behind by a crash) or damaged, from the
        checkpoint; with ``log``, says each file it had to repair. Returns ``final.params``.
        """
        checkpoint, path = read_checkpoint(self.path), self.path / FINAL
        record, said = checkpoint.files['params'], log or (lambda line: None)
        source = checkpoint.path('params').name
        if not path.is_file() or sha256_of(path) != record['sha256']:
            why = 'was missing' if not path.is_file() else 'differed from the checkpoint (damaged or stale)'
            self.save_final(checkpoint)
            said(f'{path} {why}: written again from {source}')
        sidecar = checksum_file(path)
        try:
            right = sidecar.read_text() == checksum_line(path, record)
        except (OSError, UnicodeDecodeError):
            right = False
        if not right:
            why = 'was missing' if not sidecar.is_file() else 'did not match final.params'
            write_checksum(path, record)
            said(f'{sidecar} {why}: written again')
        metrics = _metrics(recipe, history, changes, [str(d) for d in devices])
        try:
            before = json.loads((self.path / METRICS).read_text())
            metrics['devices'] = before['devices']            # the devices that trained it, not this call's
        except (OSError, ValueError, TypeError, KeyError):
            before = None
        if before != metrics:
            write_json(self.path / METRICS, metrics)
            said(f'{self.path / METRICS} did not record the complete run: written again')
        return path


def _metrics(recipe: Recipe, history: History, changes: list[dict], devices: list[str]) -> dict:
    """What ``metrics.json`` holds: the recipe, the devices, every epoch, the changes on resume, how the run ended."""
    return {'recipe': recipe.to_dict(), 'devices': devices,
            'complete': len(history) == recipe.epochs and not history.diverged, 'changes': changes,
            **history.to_dict()}

