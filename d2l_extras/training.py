"""Train a recipe's network the deck's way (Xavier, SGD, softmax cross-entropy), fast and safely.

``train(net, train_iter, test_iter, recipe)`` is d2l's ``train_ch6`` grown up. It reads in four parts:

1. set-up: pre-flight checks (loaders, net, memory, devices, run folder), then ``prepare_net`` and
   ``make_trainer`` / ``make_loss`` from the recipe, or the checkpoint to resume from;
2. one epoch, ``train_epoch``: data parallel over the devices the d2l way (``split_and_load``, one
   ``Trainer``), hybridized with static memory, loss and accuracy summed on the device; the only host
   read per batch is the previous batch's loss, which also stops a diverged run at once;
3. evaluation: ``evaluate_accuracy`` on the test set, the deck's line ``epoch N, loss L, ...``;
4. checkpoint: ``RunFolder.save_epoch`` after every epoch, atomically; Ctrl-C keeps the last one.
"""
from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Callable, Iterable

import mxnet as mx

from .devices import resolve_devices
from .evaluation import evaluate_accuracy
from .history import Epoch, History
from .liveplot import LivePlot
from .preflight import check_batch, check_loaders, check_memory, check_net, checkpoint_bytes
from .recipes import Recipe
from .runs import CHECKPOINT, FINAL, RunFolder, load_checkpoint, read_checkpoint, resume_changes

UPDATES_PER_EPOCH = 5     # progress-bar and live-plot updates per epoch (one host read of every device each)
DIVERGED_FACTOR = 100     # a loss above 100 x that of a uniform guess, log(classes), means the run blew up


class Diverged(Exception):
    """The loss or the parameters blew up (not finite, or the loss far above any a learning run has)."""

    def __init__(self, message: str, at: float) -> None:
        super().__init__(message)
        self.at = at              # where, in epochs (epoch - 1 + batch / batches)


def learning_rate(recipe: Recipe, update: int, updates_per_epoch: int) -> float:
    """The learning rate of update ``update`` (1, 2, ...): linear warm-up, then constant or cosine to 0.

    The cosine is MXNet's ``CosineScheduler`` (``final_lr=0``): lr (1 + cos(pi t / T)) / 2 at update t
    after the warm-up, 0 at the last update T of the run.
    """
    warmup = round(recipe.warmup_epochs * updates_per_epoch)
    if update <= warmup:
        return recipe.lr * update / warmup
    if recipe.schedule == 'constant':
        return recipe.lr
    total = recipe.epochs * updates_per_epoch - warmup
    return recipe.lr * (1 + math.cos(math.pi * min(update - warmup, total) / total)) / 2


def make_trainer(net, recipe: Recipe):
    """The recipe's optimizer: SGD (the deck's, when momentum and weight decay are 0) or Nesterov's ('nag').

    The parameters go to the Trainer as a list, in the net's own order: given the ParameterDict, MXNet
    1.9's Trainer sorts them by name, and names carry global counters ('conv9' before 'conv10' or not,
    depending on how many nets were built before), so a checkpoint's momentum would land on the wrong
    parameters of a net built later.
    """
    from mxnet import gluon
    options = {'learning_rate': recipe.lr, 'wd': recipe.weight_decay}
    if recipe.momentum:
        options['momentum'] = recipe.momentum
    return gluon.Trainer(list(net.collect_params().values()), 'nag' if recipe.nesterov else 'sgd', options)


def make_loss(recipe: Recipe) -> Callable:
    """``loss(scores, labels)`` per example: softmax cross-entropy, against smoothed targets if the recipe says.

    With label smoothing e, the target of class c is 1 - e + e / C and every other class gets e / C
    (``SoftmaxCrossEntropyLoss(sparse_label=False)`` takes such distributions).
    """
    from mxnet import gluon, npx
    if not recipe.label_smoothing:
        return gluon.loss.SoftmaxCrossEntropyLoss()
    cross_entropy, e = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False), recipe.label_smoothing

    def smoothed(scores, labels):
        classes = scores.shape[-1]
        return cross_entropy(scores, npx.one_hot(labels, classes) * (1 - e) + e / classes)
    return smoothed


def divergence_limit(num_classes: int) -> float:
    """The loss above which a run counts as diverged: ``DIVERGED_FACTOR`` times log(num_classes)."""
    return DIVERGED_FACTOR * math.log(max(num_classes, 2))


def prepare_net(net, recipe: Recipe, devices: list[mx.Context]) -> None:
    """Seed, initialize (Xavier, on every device) and hybridize with static memory, as the deck's recipe does."""
    from mxnet import init
    mx.random.seed(recipe.seed)
    net.initialize(init.Xavier(), ctx=devices, force_reinit=True)
    net.hybridize(static_alloc=True, static_shape=True)


class Display:
    """What a run shows: the deck's line per epoch, the live plot (in a notebook) or a progress bar, a few updates
    per epoch."""

    def __init__(self, recipe: Recipe, train_iter, history: History, plot: bool, progress: bool,
                 log: Callable[[str], None]) -> None:
        self.recipe, self.progress, self.log, self.bar = recipe, progress, log, None
        self.batches = len(train_iter)
        self.images = len(getattr(train_iter, 'images', ())) or None
        self.update_at = {max(1, round(self.batches * k / UPDATES_PER_EPOCH)) for k in range(1, UPDATES_PER_EPOCH + 1)}
        self.live = LivePlot(recipe.epochs, title=recipe.name) if plot else None
        for e in history.epochs if self.live else ():
            self.live.add(e.epoch, train_loss=e.loss, train_acc=e.train_acc, test_acc=e.test_acc)

    def start(self, epoch: int) -> None:
        """A fresh progress bar for the epoch, unless the live plot shows the progress (its title).

        The bar is text (a terminal's, or a notebook's stderr), never a widget: a notebook saved during or
        after training would keep the views of bars whose widgets are gone ("Error displaying widget: model
        not found" when it is opened again).
        """
        if self.progress and not self.live:
            from tqdm.std import tqdm
            self.bar = tqdm(total=self.images, unit='img', leave=False, mininterval=1.0,
                            desc=f'epoch {epoch}/{self.recipe.epochs}')

    def step(self, images: int) -> None:
        """One batch done."""
        if self.bar is not None:
            self.bar.update(images)

    def running(self, epoch: int, batch: int, loss: float, accuracy: float) -> None:
        """The running loss and accuracy of the epoch, on the bar and the plot."""
        if self.bar is not None:
            self.bar.set_postfix(loss=f'{loss:.3f}', acc=f'{accuracy:.3f}', refresh=False)
        if self.live:
            self.live.add(epoch - 1 + batch / self.batches, train_loss=loss, train_acc=accuracy)

    def done(self, record: Epoch) -> None:
        """The epoch's test accuracy on the plot and the deck's line in the log."""
        self.close()
        if self.live:
            self.live.add(record.epoch, test_acc=record.test_acc)
        self.log(record.line())

    def stopped(self, message: str, x: float | None = None) -> None:
        """Say why the run stopped (on the plot too, at epoch ``x``)."""
        self.close()
        if self.live and x is not None:
            self.live.diverged(x, message)
        self.log(message)

    def close(self) -> None:
        """Close the progress bar, if one is open."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _check_loss(value: float, limit: float, epoch: int, batch: int, batches: int, what: str = '') -> None:
    """Raise :class:`Diverged` (saying where) if ``value`` is not finite or above ``limit``."""
    if not (math.isfinite(value) and value <= limit):
        raise Diverged(f'diverged: the training loss is {value:.4g} at epoch {epoch}, batch {batch}{what} (not '
                       f'finite, or above {limit:.0f}: {DIVERGED_FACTOR} times a uniform guess); the run stopped '
                       'there: lower the learning rate', epoch - 1 + batch / batches)


def _check_parameters(net, epoch: int, batch: int, batches: int) -> None:
    """Raise :class:`Diverged` if a parameter is NaN or infinite (a sum per parameter on the device, one read).

    The loss alone can miss it: ReLU turns NaN into 0, so a net whose first layers are NaN still gives
    finite (useless) scores.
    """
    total = sum(p.list_data()[0].sum() for p in net.collect_params().values())
    if not math.isfinite(float(total.item())):
        raise Diverged(f'diverged: the parameters are no longer finite at epoch {epoch}, batch {batch} (the '
                       'loss can look finite: ReLU turns NaN into 0); the run stopped there: lower the learning rate',
                       epoch - 1 + batch / batches)


def train_epoch(net, trainer, loss_fn: Callable, train_iter: Iterable, recipe: Recipe,
                devices: list[mx.Context], epoch: int, display: Display) -> tuple[float, float, int]:
    """One pass over ``train_iter``: the mean loss, the accuracy and the number of examples.

    Raises :class:`Diverged` at the first loss it reads that is not finite or far too large: the
    previous batch's (the per-example losses of its last device: waiting for them, once per batch, is
    what keeps Python at most one batch ahead of the engine anyway), the running ones at the progress
    updates, and the epoch's; and when a parameter is no longer finite (checked at the progress updates
    and at the end of the epoch).
    """
    from mxnet import autograd, gluon
    loss_sum, hits = [None] * len(devices), [None] * len(devices)
    n, pending, limit = 0, None, math.inf
    first_update = (epoch - 1) * display.batches
    for i, (X, y) in enumerate(train_iter, 1):
        if i == 1:
            check_batch(X, recipe)
        trainer.set_learning_rate(learning_rate(recipe, first_update + i, display.batches))
        Xs = gluon.utils.split_and_load(X, devices, even_split=False)
        ys = gluon.utils.split_and_load(y, devices, even_split=False)
        with autograd.record():
            outs = [net(Xi) for Xi in Xs]
            ls = [loss_fn(o, yi) for o, yi in zip(outs, ys)]
        for l in ls:
            l.backward()
        trainer.step(X.shape[0])
        for d, (o, yi, l) in enumerate(zip(outs, ys, ls)):
            batch_loss = l.sum()
            h = (o.argmax(axis=1).astype('int32') == yi.astype('int32')).astype('float32').sum()
            loss_sum[d] = batch_loss if loss_sum[d] is None else loss_sum[d] + batch_loss
            hits[d] = h if hits[d] is None else hits[d] + h
        if pending is not None:                 # the previous batch's losses: the one wait per batch, as before
            _check_loss(float(pending.asnumpy().mean()), limit, epoch, i - 1, display.batches)
        pending, limit = ls[-1], divergence_limit(outs[-1].shape[-1])
        n += X.shape[0]
        if i in display.update_at:
            loss, accuracy = _totals(loss_sum, hits, n)
            _check_loss(loss, limit, epoch, i, display.batches, ' (the mean so far)')
            _check_parameters(net, epoch, i, display.batches)
            display.running(epoch, i, loss, accuracy)
        display.step(X.shape[0])
    if n == 0:
        raise ValueError('train_iter must yield at least one batch')
    _check_loss(float(pending.asnumpy().mean()), limit, epoch, i, display.batches)
    loss, accuracy = _totals(loss_sum, hits, n)
    _check_loss(loss, limit, epoch, i, display.batches, ' (the mean of the epoch)')
    _check_parameters(net, epoch, i, display.batches)
    return loss, accuracy, n


def _totals(loss_sum: list, hits: list, n: int) -> tuple[float, float]:
    """Mean loss and accuracy from the per-device sums (a host read of each)."""
    return (sum(float(s.item()) for s in loss_sum if s is not None) / n,
            sum(float(h.item()) for h in hits if h is not None) / n)


def _resume(run: RunFolder, net, trainer, recipe: Recipe, devices: list, log: Callable[[str], None]):
    """The history, the changes and the recipe to continue with, from the checkpoint in ``run``."""
    if not (run.path / CHECKPOINT).is_file():
        log(f'note: resume asked, but {run.path} holds no checkpoint yet: starting at epoch 1')
        return History(), [], recipe
    changes = resume_changes(read_checkpoint(run.path), recipe)
    checkpoint = load_checkpoint(run.path, net, trainer, devices)
    history, done = checkpoint.history, checkpoint.epoch
    history.interrupted, history.diverged = False, ''
    recorded = checkpoint.changes + [{'after_epoch': done, 'field': k, 'from': a, 'to': b}
                                     for k, (a, b) in changes.items()]
    said = ''.join(f'; {k} {a} -> {b} (recorded in {CHECKPOINT})' for k, (a, b) in changes.items())
    log(f'resumed from {run.path} after epoch {done}{said}')
    if 'epochs' in changes and (recipe.schedule != 'constant' or recipe.warmup_epochs):
        log(f'note: the learning-rate schedule now spans {recipe.epochs} epochs instead of '
            f"{changes['epochs'][0]}: from epoch {done + 1} on it follows the longer schedule")
    return history, recorded, checkpoint.recipe.replace(epochs=recipe.epochs)


def _in_notebook() -> bool:
    """Whether this runs inside a Jupyter kernel (where the live plot is drawn by default)."""
    try:
        from IPython import get_ipython
        return get_ipython() is not None and 'IPKernelApp' in get_ipython().config
    except ImportError:
        return False


def _check_flags(recipe: Recipe, run_dir, resume: bool, overwrite: bool, plot, progress: bool) -> None:
    """Raise a ValueError naming the first of train's arguments that is not what it must be."""
    if not isinstance(recipe, Recipe):
        raise ValueError(f'recipe must be a Recipe (d2l_extras.recipes.get_recipe), got {type(recipe).__name__}')
    for name, value in (('resume', resume), ('overwrite', overwrite), ('progress', progress)):
        if not isinstance(value, bool):
            raise ValueError(f'{name} must be True or False, got {value!r}')
    if plot is not None and not isinstance(plot, bool):
        raise ValueError(f'plot must be True, False or None (only in a notebook), got {plot!r}')
    if resume and overwrite:
        raise ValueError('resume and overwrite exclude each other: continue the run, or start it over')
    if (resume or overwrite) and run_dir is None:
        raise ValueError(f'{"resume" if resume else "overwrite"}=True needs a run_dir (the run folder)')


def train(net, train_iter: Iterable, test_iter: Iterable, recipe: Recipe, devices=None,
          run_dir: Path | str | None = None, resume: bool = False, overwrite: bool = False,
          plot: bool | None = None, progress: bool = True, log: Callable[[str], None] = print) -> History:
    """Train ``net`` with ``recipe`` and return its history; checkpoints in ``run_dir`` after every epoch.

    Args:
        net: the recipe's network, ``build_model(recipe)`` (checked: same parameters).
        train_iter, test_iter: the recipe's loaders, ``load_data(recipe)`` (checked: sizes, seed).
        recipe: a :class:`~d2l_extras.recipes.Recipe`, e.g. ``get_recipe('cpu-quick')``.
        devices: ``None``/``'auto'`` (working GPUs, else the CPU), ``'cpu'``, ``'gpu:0,1'``, a context or a
            list of them (``d2l_extras.devices.resolve_devices``); batches are split over them.
        run_dir: the run folder (None: no checkpoints). A folder holding a run needs ``resume`` or ``overwrite``.
        resume: continue from the checkpoint in ``run_dir`` (more epochs allowed, nothing else changed).
        overwrite: delete the run in ``run_dir`` and start over.
        plot: draw the live plot (default: only inside a notebook).
        progress: show the progress: a text progress bar, or the live plot's title when it is drawn.
        log: where the per-epoch lines and notes go.
    Returns:
        The :class:`~d2l_extras.history.History`; ``interrupted`` after Ctrl-C (the last complete epoch
        is kept in ``run_dir``), ``diverged`` says where when the loss blew up.
    Raises:
        ValueError (the recipe, loaders, net, devices or memory disagree), ``RunFolderError``,
        ``CheckpointError``, ``WriteError`` (a file could not be written; the last checkpoint is kept).
    """
    _check_flags(recipe, run_dir, resume, overwrite, plot, progress)
    devices = resolve_devices(devices)[0]
    check_loaders(train_iter, test_iter, recipe)
    per_image = check_net(net, recipe)
    check_memory(net, per_image, recipe, devices)
    run = RunFolder(run_dir) if run_dir is not None else None
    if run is not None:
        run.preflight(resume, overwrite, checkpoint_bytes(net, recipe))
    prepare_net(net, recipe, devices)
    with run.claim(overwrite, log) if run is not None else contextlib.nullcontext():
        trainer, history, changes = make_trainer(net, recipe), History(), []
        if resume:
            history, changes, recipe = _resume(run, net, trainer, recipe, devices, log)
            if len(history) == recipe.epochs:
                log(f'nothing to train: {run.path} already holds all {recipe.epochs} epochs of its recipe; '
                    'ask for more epochs (--epochs, or recipe.replace(epochs=...)) to train on')
        display = Display(recipe, train_iter, history, _in_notebook() if plot is None else plot, progress, log)
        _run_epochs(net, trainer, train_iter, test_iter, recipe, devices, history, changes, run, display)
    return history


def _run_epochs(net, trainer, train_iter, test_iter, recipe: Recipe, devices: list, history: History,
                changes: list, run: RunFolder | None, display: Display) -> None:
    """Train, evaluate and checkpoint epoch after epoch; record how the run ended in ``history``."""
    from .speedups import fast_concat
    loss_fn, epoch, before = make_loss(recipe), len(history), len(history)
    try:
        with fast_concat():
            while len(history) < recipe.epochs:
                epoch = len(history) + 1
                if hasattr(train_iter, 'epoch'):
                    train_iter.epoch = epoch - 1        # the same shuffle whether resumed or not
                display.start(epoch)
                start = time.time()
                loss, accuracy, n = train_epoch(net, trainer, loss_fn, train_iter, recipe, devices, epoch, display)
                train_time = time.time() - start
                test_acc = evaluate_accuracy(net, test_iter, devices)
                history.epochs.append(Epoch(epoch, loss, accuracy, test_acc, time.time() - start, n / train_time))
                if run is not None:
                    run.save_epoch(net, trainer, recipe, history, changes, devices)
                display.done(history.epochs[-1])
        if run is not None:                     # final.params; on a resume with nothing to train, repairs said
            run.finish(recipe, history, changes, devices, log=display.log if len(history) == before else None)
    except KeyboardInterrupt:
        mx.nd.waitall()                         # let queued operations finish before anyone reads again
        if run is not None:                     # what the folder's checkpoint holds, whenever Ctrl-C came
            del history.epochs[run.saved_epochs():]
        history.interrupted = True
        display.stopped(_interrupted(epoch, len(history), recipe, run))
    except Diverged as error:                   # raised inside an epoch: every complete epoch is saved
        mx.nd.waitall()
        kept = f'; epoch {len(history)} is kept in {run.path}' if run is not None and len(history) else ''
        history.diverged = f'{error}{kept}'
        display.stopped(history.diverged, x=error.at)
    finally:
        display.close()
    if run is not None and (history.diverged or (history.interrupted and len(history))):
        with contextlib.suppress(Exception):    # the checkpoint is what counts; the metrics say how it ended
            run.save_metrics(recipe, history, changes, devices)


def _interrupted(epoch: int, kept: int, recipe: Recipe, run: RunFolder | None) -> str:
    """What Ctrl-C kept (``kept`` complete epochs, in the history and, with a run folder, in its checkpoint), in
    words for whoever pressed it (a terminal or a notebook)."""
    if run is None:
        return f'interrupted during epoch {epoch}: {kept} complete epoch(s) in the returned history'
    if kept == recipe.epochs:
        return (f'interrupted while writing {FINAL}: all {kept} epochs are kept in {run.path}; resuming '
                f'(--resume, resume=True) writes it')
    if kept:
        return f'interrupted during epoch {epoch}: epoch {kept} kept in {run.path}'
    return (f'interrupted during epoch {epoch}, before the first checkpoint (at the end of epoch 1): nothing was '
            'saved; start again the same way')
