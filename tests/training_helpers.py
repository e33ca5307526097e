"""A tiny learnable set, a tiny recipe, and small disks for the training tests: a run takes well under a second."""
import contextlib
import os
import subprocess

import numpy as onp
import pytest

from d2l_extras.data import BatchLoader
from d2l_extras.recipes import Recipe

#: The lesson's DenseNet at its smallest: one dense block of two conv blocks adding 4 channels each.
TINY = Recipe('tiny', growth_rate=4, convs_per_block=(2,), resize=12, batch_size=30, epochs=3, lr=0.5)
NUM_CLASSES = 4


def level_images(n_per_class=30, size=12, seed=0):
    """Noisy images whose class is their brightness: learnable by a conv net in a few epochs."""
    rng = onp.random.default_rng(seed)
    labels = onp.repeat(onp.arange(NUM_CLASSES), n_per_class).astype(onp.int32)
    images = (rng.integers(0, 40, (len(labels), size, size)) + 60 * labels[:, None, None]).astype(onp.uint8)
    return images, labels


def loaders(recipe=TINY):
    """The recipe's training (shuffled with its seed) and test loaders of ``level_images``."""
    return (BatchLoader(*level_images(), recipe.batch_size, recipe.resize, shuffle=True, seed=recipe.seed),
            BatchLoader(*level_images(n_per_class=10, seed=1), 40, recipe.resize))


def quiet(**kwargs):
    """train's keyword arguments for a silent run (no bar, no plot, no log)."""
    return dict(progress=False, plot=False, log=lambda line: None, **kwargs)


class InterruptAt:
    """A loader that raises KeyboardInterrupt (as Ctrl-C does) at a given batch of a given pass."""

    def __init__(self, loader, epoch, batch):
        self.loader, self.stop, self.passes = loader, (epoch, batch), 0

    def __getattr__(self, name):              # batch_size, resize, seed, shuffle of the loader
        return getattr(self.loader, name)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.passes += 1
        for i, item in enumerate(self.loader, 1):
            if (self.passes, i) == self.stop:
                raise KeyboardInterrupt
            yield item


@contextlib.contextmanager
def tmpfs(path, size_kib, read_only=False):
    """A small tmpfs mounted at ``path`` while the block runs (root only); skips the test where it cannot."""
    if os.geteuid() != 0:
        pytest.skip('mounting a small tmpfs (a full or read-only disk) needs root')
    path.mkdir(parents=True, exist_ok=True)
    options = f'size={size_kib}k' + (',ro' if read_only else '')
    done = subprocess.run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here: {done.stderr.strip()}')
    try:
        yield path
    finally:
        subprocess.run(['umount', '-l', str(path)], check=True)


def fill(folder):
    """Fill the file system of ``folder`` to the last byte."""
    with open(folder / 'filler', 'wb', buffering=0) as f:
        for chunk in (1 << 16, 1 << 12, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b'\0' * chunk)
