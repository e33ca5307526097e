"""Train any Gluon classifier the deck's way (Xavier, SGD, cross-entropy), fast and safely.

``train(net, train_iter, test_iter, ...)`` is d2l's ``train_ch6`` grown up:

- data parallel over one or several devices the d2l way (``split_and_load``, one ``Trainer``);
- hybridized with static memory, and no host synchronisation per batch: loss and accuracy are added up
  on the device and read once per progress update;
- a live plot and a progress bar while it runs, the deck's line ``epoch N, loss L, train acc A,
  test acc T, time S sec`` after every epoch;
- a checkpoint after every epoch (parameters, trainer state, history), written atomically, from which
  ``resume=True`` continues; Ctrl-C stops cleanly and keeps the last complete epoch.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import mxnet as mx

from .evaluation import evaluate_accuracy

CHECKPOINT_FILE = 'checkpoint.json'   # written last: a checkpoint exists only once this file names it


@dataclass
class Epoch:
    """What one epoch measured."""
    epoch: int
    loss: float
    train_acc: float
    test_acc: float
    time: float            # seconds for the epoch, training plus test evaluation (as the deck times it)
    img_per_sec: float     # training examples per second

    def line(self) -> str:
        """The deck's per-epoch line."""
        return (f'epoch {self.epoch}, loss {self.loss:.4f}, train acc {self.train_acc:.3f}, '
                f'test acc {self.test_acc:.3f}, time {self.time:.1f} sec')


@dataclass
class History:
    """Per-epoch results of a run, and whether it was interrupted before its last epoch."""
    epochs: list[Epoch] = field(default_factory=list)
    interrupted: bool = False

    def __len__(self) -> int:
        return len(self.epochs)

    def column(self, name: str) -> list[float]:
        """One measurement over the epochs, e.g. ``history.column('test_acc')``."""
        return [getattr(e, name) for e in self.epochs]

    def to_dict(self) -> dict:
        return {'epochs': [asdict(e) for e in self.epochs], 'interrupted': self.interrupted}

    @classmethod
    def from_dict(cls, data: dict) -> 'History':
        return cls([Epoch(**e) for e in data['epochs']], bool(data.get('interrupted', False)))


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_name)``, then rename the temporary file over ``path`` (never half a file)."""
    tmp = path.with_name(f'.{path.name}.tmp-{os.getpid()}')
    try:
        write(str(tmp))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_checkpoint(folder: Path | str, net, trainer, history: History) -> Path:
    """Save parameters, trainer state and history of the last complete epoch into ``folder``.

    The parameter and state files carry the epoch number; ``checkpoint.json`` naming them is replaced
    last, atomically, so an interrupt at any moment leaves the previous checkpoint intact.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(history)
    params, states = f'epoch-{n:03d}.params', f'epoch-{n:03d}.states'
    _atomic_write(folder / params, net.save_parameters)
    _atomic_write(folder / states, trainer.save_states)
    meta = {'epoch': n, 'params': params, 'states': states, **history.to_dict()}
    _atomic_write(folder / CHECKPOINT_FILE, lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1)))
    for old in folder.glob('epoch-*'):          # only after the new checkpoint is in place
        if old.name not in (params, states):
            old.unlink()
    return folder / CHECKPOINT_FILE


def load_checkpoint(folder: Path | str, net, trainer=None, devices=None) -> History:
    """Load the last complete epoch from ``folder`` into ``net`` (and ``trainer``); return its history."""
    folder = Path(folder)
    meta_file = folder / CHECKPOINT_FILE
    if not meta_file.is_file():
        raise FileNotFoundError(f'no checkpoint in {folder} (missing {CHECKPOINT_FILE})')
    meta = json.loads(meta_file.read_text())
    net.load_parameters(str(folder / meta['params']), ctx=devices or mx.cpu())
    if trainer is not None:
        trainer.load_states(str(folder / meta['states']))
    return History.from_dict(meta)


class LivePlot:
    """Train loss, train accuracy and test accuracy drawn as they come, updated in place in a notebook."""

    def __init__(self, num_epochs: int, title: str = '') -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display
        self.fig, self.ax = plt.subplots(figsize=(4.5, 3), layout='constrained')
        self.title, self.num_epochs = title, num_epochs
        self.series = {'train loss': ([], [], '-'), 'train acc': ([], [], 'm--'), 'test acc': ([], [], 'g-.')}
        self.handle = display(self.fig, display_id=True)
        plt.close(self.fig)                     # shown through the handle only, not again at cell end

    def add(self, x: float, **values: float) -> None:
        """Add points at epoch ``x``, e.g. ``add(1.5, train_loss=0.4, train_acc=0.85)``."""
        for key, value in values.items():
            xs, ys, _ = self.series[key.replace('_', ' ')]
            xs.append(x)
            ys.append(value)
        self.ax.cla()
        for label, (xs, ys, fmt) in self.series.items():
            if xs:
                self.ax.plot(xs, ys, fmt, label=label)
        self.ax.set(xlabel='epoch', xlim=(0, self.num_epochs), ylim=(0, max(1.0, *self.series['train loss'][1])),
                    title=self.title)
        self.ax.grid(True, alpha=0.3)
        self.ax.legend(loc='center right', fontsize=8)
        self.handle.update(self.fig)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
        return get_ipython() is not None and 'IPKernelApp' in get_ipython().config
    except ImportError:
        return False


def _device_list(devices) -> list[mx.Context]:
    if devices is None:
        return [mx.cpu()]
    devices = [devices] if isinstance(devices, mx.Context) else list(devices)
    if not devices:
        raise ValueError('devices must name at least one device, got an empty list')
    return devices


def train(net, train_iter: Iterable, test_iter: Iterable, num_epochs: int = 5, lr: float = 0.1,
          devices: mx.Context | Sequence[mx.Context] | None = None, checkpoint_dir: Path | str | None = None,
          resume: bool = False, plot: bool | None = None, progress: bool = True, updates_per_epoch: int = 5,
          log: Callable[[str], None] = print, hybridize: bool = True, cosine: bool = False) -> History:
    """Train ``net`` with the deck's recipe (Xavier init, SGD, softmax cross-entropy) and return its history.

    Args:
        net: a Gluon block mapping ``(B, C, H, W)`` images to ``(B, classes)`` scores.
        train_iter, test_iter: re-iterable loaders of ``(X, y)`` batches on the CPU.
        num_epochs: epochs in total (with ``resume``, including those already done).
        lr: SGD learning rate.
        devices: a context or a list of them; batches are split over them (default ``cpu()``).
        checkpoint_dir: where to save a checkpoint after each epoch (None: no checkpoints).
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one.
        plot: draw the live plot (default: only inside a notebook).
        progress: show a tqdm progress bar.
        updates_per_epoch: how often per epoch the bar and plot show the running loss (one host sync each).
        log: where the per-epoch lines go.
        cosine: decay the learning rate to 0 along a half cosine over all epochs (the deck keeps it
            constant); the last epoch's test accuracy then swings much less.
        hybridize: compile the network with static memory and shapes (``hybridize(static_alloc=True,
            static_shape=True)``) when it is a ``HybridBlock``.
    Returns:
        The :class:`History`; ``history.interrupted`` is True when Ctrl-C stopped it early.
    """
    from mxnet import autograd, gluon, init

    if not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f'num_epochs must be a positive integer, got {num_epochs!r}')
    if not lr > 0:
        raise ValueError(f'lr must be a positive number, got {lr!r}')
    if not isinstance(updates_per_epoch, int) or updates_per_epoch < 1:
        raise ValueError(f'updates_per_epoch must be a positive integer, got {updates_per_epoch!r}')
    if resume and checkpoint_dir is None:
        raise ValueError('resume=True needs a checkpoint_dir to resume from')
    devices = _device_list(devices)
    net.initialize(init.Xavier(), ctx=devices, force_reinit=True)
    if hybridize and isinstance(net, gluon.HybridBlock):
        net.hybridize(static_alloc=True, static_shape=True)
    options = {'learning_rate': lr}
    if cosine:                                  # lr falls from lr to 0 along a half cosine, update by update
        steps = num_epochs * len(train_iter)
        options['lr_scheduler'] = mx.lr_scheduler.CosineScheduler(max_update=steps, base_lr=lr, final_lr=0)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', options)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    history = History()
    if resume and (Path(checkpoint_dir) / CHECKPOINT_FILE).is_file():
        history = load_checkpoint(checkpoint_dir, net, trainer, devices)
        history.interrupted = False
        log(f'resumed from {checkpoint_dir} after epoch {len(history)}')
    if plot is None:
        plot = _in_notebook()
    live = LivePlot(num_epochs) if plot else None
    if live:
        for e in history.epochs:
            live.add(e.epoch, train_loss=e.loss, train_acc=e.train_acc, test_acc=e.test_acc)
    num_batches = len(train_iter) if hasattr(train_iter, '__len__') else None
    update_at = ({max(1, round(num_batches * k / updates_per_epoch)) for k in range(1, updates_per_epoch + 1)}
                 if num_batches else set())

    epoch, bar = len(history), None
    try:
        while epoch < num_epochs:
            epoch += 1
            if hasattr(train_iter, 'epoch'):
                train_iter.epoch = epoch - 1    # the same shuffle whether resumed or not
            bar = _progress_bar(train_iter, epoch, num_epochs) if progress else None
            start = time.time()
            loss_sum = [None] * len(devices)
            hits = [None] * len(devices)
            n, pending = 0, None
            for i, (X, y) in enumerate(train_iter, 1):
                Xs = gluon.utils.split_and_load(X, devices, even_split=False)
                ys = gluon.utils.split_and_load(y, devices, even_split=False)
                with autograd.record():
                    outs = [net(Xi) for Xi in Xs]
                    ls = [loss(o, yi) for o, yi in zip(outs, ys)]
                for l in ls:
                    l.backward()
                trainer.step(X.shape[0])
                for d, (o, yi, l) in enumerate(zip(outs, ys, ls)):
                    h = (o.argmax(axis=1).astype('int32') == yi.astype('int32')).astype('float32').sum()
                    loss_sum[d] = l.sum() if loss_sum[d] is None else loss_sum[d] + l.sum()
                    hits[d] = h if hits[d] is None else hits[d] + h
                n += X.shape[0]
                if i in update_at:              # the only host sync inside the epoch
                    train_loss = sum(float(s.item()) for s in loss_sum) / n
                    train_acc = sum(float(h.item()) for h in hits) / n
                    if bar is not None:
                        bar.set_postfix(loss=f'{train_loss:.3f}', acc=f'{train_acc:.3f}', refresh=False)
                    if live:
                        live.add(epoch - 1 + i / num_batches, train_loss=train_loss, train_acc=train_acc)
                if pending is not None:         # keep Python at most one batch ahead of the engine
                    pending.wait_to_read()
                pending = ls[-1]
                if bar is not None:
                    bar.update(X.shape[0])
            if n == 0:
                raise ValueError('train_iter must yield at least one batch')
            train_loss = sum(float(s.item()) for s in loss_sum) / n
            train_acc = sum(float(h.item()) for h in hits) / n
            train_time = time.time() - start
            if bar is not None:
                bar.close()
            test_acc = evaluate_accuracy(net, test_iter, devices)
            record = Epoch(epoch, train_loss, train_acc, test_acc, time.time() - start, n / train_time)
            history.epochs.append(record)
            if checkpoint_dir is not None:
                save_checkpoint(checkpoint_dir, net, trainer, history)
            if live:
                live.add(epoch, test_acc=test_acc)
            log(record.line())
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        mx.nd.waitall()                         # let queued operations finish before anyone reads again
        history.interrupted = True
        kept = f'epoch {len(history)} kept in {checkpoint_dir}' if checkpoint_dir and len(history) else \
            f'{len(history)} complete epoch(s) in the returned history'
        log(f'interrupted during epoch {epoch}: {kept}')
    return history


def _progress_bar(train_iter, epoch: int, num_epochs: int):
    from tqdm.auto import tqdm
    images = getattr(train_iter, 'images', None)
    return tqdm(total=len(images) if images is not None else None, unit='img', leave=False,
                desc=f'epoch {epoch}/{num_epochs}', mininterval=1.0)
