"""Training throughput at 96 px, batch 256: the deck's code as written vs the d2l_extras path.

    .venv/bin/python benchmarks/throughput.py [--repeats 3] [--batches 6]

(a) deck: the 2019 deck's code - imperative ``nn.Block`` DenseBlock with ``nd.concat``, ``nn.Sequential``,
    a gluon ``DataLoader`` with per-image ``Resize(96)`` + ``ToTensor`` and 4 workers as d2l's
    ``load_data_fashion_mnist`` builds it (reading our arrays through ``ArrayDataset``, since gluon's
    ``FashionMNIST`` cannot load offline), and ``train_ch5``'s loop with two ``asscalar()`` per batch.
(b) ours: the deck's model built from the lesson's code (``model='densenet-deck'``, hybridized with
    static memory, its graph traced inside ``speedups.fast_concat()``), ``BatchLoader`` resizing whole
    batches, and ``d2l_extras.training.train_epoch``, the step notebook 04 and the CLI run.
(c) ours-np-concat: (b) without ``fast_concat()``, the lesson's ``np.concatenate`` as MXNet runs it: what
    the oneDNN concatenation buys, measured in the same run.
Both train the deck's (uncorrected) model, so the work per image is the same. (b) also runs with
``OMP_NUM_THREADS`` = all cores, as notebook 04 and the CLI set it (MXNet's default starts one OpenMP
thread per two cores); (a) with MXNet's default. Each timed run is a fresh process; repeats are
interleaved (a, b, a, b, ...) so that load from other processes hits both alike. Prints img/s of each,
the ratio, and the share of this machine's float32 GEMM peak, measured in the same run.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time

import d2l_extras  # noqa: F401  (first: its compat module prepares numpy and Python for MXNet)
import mxnet as mx
import numpy as onp

BATCH, RESIZE = 256, 96


def gemm_peak(n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of an n x n float32 matrix product."""
    a = mx.nd.random.uniform(shape=(n, n))
    b = mx.nd.random.uniform(shape=(n, n))
    mx.nd.dot(a, b).wait_to_read()
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        mx.nd.dot(a, b).wait_to_read()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


# ----------------------------------------------------------------- (a) the deck's code, as written
def deck_setup(images: onp.ndarray, labels: onp.ndarray):
    """The deck's model, trainer and data loader (MXNet's nd interface, no hybridization)."""
    from mxnet import gluon, init, nd
    from mxnet.gluon import data as gdata, nn

    def conv_block(num_channels):
        blk = nn.Sequential()
        blk.add(nn.BatchNorm(), nn.Activation('relu'),
                nn.Conv2D(num_channels, kernel_size=3, padding=1))
        return blk

    class DenseBlock(nn.Block):
        def __init__(self, num_convs, num_channels, **kwargs):
            super(DenseBlock, self).__init__(**kwargs)
            self.net = nn.Sequential()
            for _ in range(num_convs):
                self.net.add(conv_block(num_channels))

        def forward(self, X):
            for blk in self.net:
                Y = blk(X)
                X = nd.concat(X, Y, dim=1)  # Concatenate the input and output of each block on the channel dimension
            return X

    def transition_block(num_channels):
        blk = nn.Sequential()
        blk.add(nn.BatchNorm(), nn.Activation('relu'),
                nn.Conv2D(num_channels, kernel_size=1),
                nn.AvgPool2D(pool_size=2, strides=2))
        return blk

    net = nn.Sequential()
    net.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3),
            nn.BatchNorm(), nn.Activation('relu'),
            nn.MaxPool2D(pool_size=3, strides=2, padding=1))
    num_channels, growth_rate = 64, 32  # Num_channels: the current number of channels
    num_convs_in_dense_blocks = [4, 4, 4, 4]
    for i, num_convs in enumerate(num_convs_in_dense_blocks):
        net.add(DenseBlock(num_convs, growth_rate))
        num_channels += num_convs * growth_rate  # This is the number of output channels in the previous dense block
        if i != len(num_convs_in_dense_blocks) - 1:  # A transition layer that haves the number of channels is added between the dense blocks
            net.add(transition_block(num_channels // 2))
    net.add(nn.BatchNorm(), nn.Activation('relu'), nn.GlobalAvgPool2D(), nn.Dense(10))

    ctx = mx.cpu()
    net.initialize(ctx=ctx, init=init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    # d2l (2019) load_data_fashion_mnist(batch_size, resize=96): Resize + ToTensor per image, 4 workers
    transformer = gdata.vision.transforms.Compose(
        [gdata.vision.transforms.Resize(RESIZE), gdata.vision.transforms.ToTensor()])
    mnist_train = gdata.ArrayDataset(nd.array(images[..., None], dtype='uint8'), labels.astype('int32'))
    train_iter = gdata.DataLoader(mnist_train.transform_first(transformer), BATCH, shuffle=True,
                                  num_workers=4)
    loss = gluon.loss.SoftmaxCrossEntropyLoss()

    def run(num_batches: int) -> float:
        """train_ch5's inner loop for num_batches batches; returns images per second."""
        from mxnet import autograd
        train_l_sum, train_acc_sum, n, start = 0.0, 0.0, 0, time.time()
        for i, (X, y) in enumerate(train_iter):
            if i == num_batches:
                break
            X, y = X.as_in_context(ctx), y.as_in_context(ctx)
            with autograd.record():
                y_hat = net(X)
                l = loss(y_hat, y).sum()
            l.backward()
            trainer.step(BATCH)
            y = y.astype('float32')
            train_l_sum += l.asscalar()
            train_acc_sum += (y_hat.argmax(axis=1) == y).sum().asscalar()
            n += y.size
        return n / (time.time() - start)
    return run


# ----------------------------------------------------------------- (b) the d2l_extras path
class FirstBatches:
    """The first ``count`` batches of a loader, with a length (what ``train_epoch`` needs)."""

    def __init__(self, loader, count: int) -> None:
        self.loader, self.count = loader, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        for i, batch in enumerate(self.loader):
            if i == self.count:
                return
            yield batch


def ours_setup(images: onp.ndarray, labels: onp.ndarray, fast: bool = True):
    """The training step of notebook 04 and the CLI (``d2l_extras.training.train_epoch``), on the deck's
    recipe and uncorrected model: hybridized with static memory, graph built inside ``fast_concat()``
    (``fast=False``: with the lesson's ``np.concatenate`` as it is, to measure what the concat buys)."""
    from d2l_extras import training
    from d2l_extras.data import BatchLoader
    from d2l_extras.history import History
    from d2l_extras.recipes import Recipe, build_model
    from d2l_extras.speedups import fast_concat

    recipe = Recipe('throughput', model='densenet-deck', resize=RESIZE, batch_size=BATCH, lr=0.1)
    devices = [mx.cpu()]
    net = build_model(recipe)
    training.prepare_net(net, recipe, devices)
    trainer, loss_fn = training.make_trainer(net, recipe), training.make_loss(recipe)
    loader = BatchLoader(images, labels, BATCH, resize=RESIZE, shuffle=True)

    def run(num_batches: int) -> float:
        """``num_batches`` batches of ``train_epoch``; returns images per second."""
        batches = FirstBatches(loader, num_batches)
        display = training.Display(recipe, batches, History(), plot=False, progress=False, log=lambda line: None)
        start = time.time()
        with fast_concat() if fast else contextlib.nullcontext():
            n = training.train_epoch(net, trainer, loss_fn, batches, recipe, devices, 1, display)[2]
        return n / (time.time() - start)
    return run


def worker(name: str, batches: int, warmup: int) -> None:
    """One timed run in this process: print images per second of the deck's code or ours."""
    from mxnet import npx
    from d2l_extras.data import load_arrays

    if name == 'peak':
        print(gemm_peak())
        return
    images, labels = load_arrays('train')
    if name == 'deck':
        run = deck_setup(images, labels)
    else:
        npx.set_np()
        run = ours_setup(images, labels, fast=name == 'ours')
    run(warmup)
    print(run(batches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=3, help='interleaved timed runs of each')
    parser.add_argument('--batches', type=int, default=6, help='batches per timed run')
    parser.add_argument('--warmup', type=int, default=2, help='untimed batches before each timed run')
    parser.add_argument('--worker', choices=('deck', 'ours', 'ours-np-concat', 'peak'), help=argparse.SUPPRESS)
    parser.add_argument('--ours-threads', type=int, default=os.cpu_count(),
                        help='OMP_NUM_THREADS for our path (default: all cores); the deck runs with '
                             "MXNet's default (one thread per two cores) unless OMP_NUM_THREADS is set")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.batches, args.warmup)

    def measure(name: str, threads: int | None) -> float:
        env = dict(os.environ)
        if threads:
            env['OMP_NUM_THREADS'] = str(threads)
        out = subprocess.run([sys.executable, __file__, '--worker', name, '--batches', str(args.batches),
                              '--warmup', str(args.warmup)], env=env, check=True, capture_output=True,
                             text=True).stdout
        return float(out.strip().splitlines()[-1])

    deck_threads = os.environ.get('OMP_NUM_THREADS')
    print(f'cores: {os.cpu_count()}; deck: OMP_NUM_THREADS={deck_threads or "unset (MXNet default)"}; '
          f'ours: OMP_NUM_THREADS={args.ours_threads}')
    peak = measure('peak', os.cpu_count())
    print(f'float32 GEMM peak (2048^2 matmul, {os.cpu_count()} threads): {peak:.1f} GFLOP/s')
    runs = {'deck': [], 'ours': [], 'ours-np-concat': []}
    for r in range(args.repeats):
        for name, threads in (('deck', None), ('ours', args.ours_threads), ('ours-np-concat', args.ours_threads)):
            runs[name].append(measure(name, threads))
            print(f'  repeat {r + 1}: {name} {runs[name][-1]:.1f} img/s', flush=True)
    # Forward + backward ~ 3 x the forward FLOPs of the deck's (uncorrected) model, counted by d2l_extras.summary.
    from mxnet import npx
    from d2l_extras.model_zoo import build
    from d2l_extras.summary import costs
    npx.set_np()
    gflop_per_image = 3 * costs(build('densenet-deck'), RESIZE)['GFLOPs']
    print(f'work per training image: 3 x the forward pass = {gflop_per_image:.3f} GFLOP')
    best = {name: max(v) for name, v in runs.items()}
    median = {name: float(onp.median(v)) for name, v in runs.items()}
    for name in runs:
        share = best[name] * gflop_per_image / peak
        print(f'{name}: best {best[name]:.1f} img/s, median {median[name]:.1f} img/s, '
              f'{share:.1%} of the GEMM peak')
    print(f'ratio ours/deck: best {best["ours"] / best["deck"]:.2f}x, '
          f'median {median["ours"] / median["deck"]:.2f}x')
    print(f'what fast_concat buys, ours/ours-np-concat: median {median["ours"] / median["ours-np-concat"]:.2f}x')


if __name__ == '__main__':
    main()
