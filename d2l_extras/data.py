"""Fashion-MNIST offline first: find the IDX files, check what is in them, feed MXNet in whole batches.

Where the data is looked for, in order:

1. ``$FASHION_MNIST_DIR``;
2. ``/usr/share/datasets/fashion-mnist``, from the Debian/Ubuntu package ``dataset-fashion-mnist``;
3. MXNet's cache ``$MXNET_HOME/datasets/fashion-mnist`` (``~/.mxnet/...``), downloaded there through
   gluon only when none of the above has the files and the network answers.

Gluon's own ``FashionMNIST`` checks the sha1 of gzip bytes that the Debian files do not share, so this
module reads the IDX format itself and checks the content instead: magic numbers, counts, 28x28 images,
labels 0-9 with an equal number of each class.
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import socket
import struct
import sys
import tempfile
import warnings
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence
from urllib.parse import urlparse

import numpy as onp

from .sizes import MAX_BATCH, MAX_IMAGE_SIZE, check_bool, check_int, check_real

CLASS_NAMES = ('t-shirt', 'trouser', 'pullover', 'dress', 'coat',
               'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot')
ENV_VAR = 'FASHION_MNIST_DIR'
DEBIAN_DIR = Path('/usr/share/datasets/fashion-mnist')
FILES = {'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
         'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')}
SPLIT_SIZES = {'train': 60000, 'test': 10000}
IMAGE_SHAPE = (28, 28)
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049   # IDX: unsigned bytes, 3 dimensions / 1 dimension
NUM_CLASSES = len(CLASS_NAMES)


class DataNotFoundError(FileNotFoundError):
    """No valid copy of Fashion-MNIST anywhere we looked."""


class CorruptDataError(ValueError):
    """An IDX file that exists but is not what Fashion-MNIST should be."""


def mxnet_cache_dir() -> Path:
    """MXNet's dataset cache, as gluon computes it (``$MXNET_HOME`` or ``~/.mxnet``)."""
    home = os.environ.get('MXNET_HOME') or os.path.join('~', '.mxnet')
    return Path(home).expanduser() / 'datasets' / 'fashion-mnist'


def read_idx(path: Path | str, magic: int, shape: Sequence[int]) -> onp.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes and check its header and length.

    Args:
        path: the ``.gz`` file.
        magic: the magic number it must start with (2051 images, 2049 labels).
        shape: the full array shape the header must announce, e.g. ``(60000, 28, 28)``.
    Returns:
        A read-only uint8 array of that shape.
    """
    path = Path(path)
    try:
        with gzip.open(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise CorruptDataError(f'{path}: not a readable gzip file ({e})') from None
    header_len = 4 + 4 * len(shape)
    if len(raw) < header_len:
        raise CorruptDataError(f'{path}: only {len(raw)} bytes, too short for an IDX header')
    (got_magic,) = struct.unpack('>i', raw[:4])
    if got_magic != magic:
        raise CorruptDataError(f'{path}: magic number {got_magic}, expected {magic}')
    dims = struct.unpack(f'>{len(shape)}i', raw[4:header_len])
    if dims != tuple(shape):
        raise CorruptDataError(f'{path}: header says shape {dims}, expected {tuple(shape)}')
    data = onp.frombuffer(raw, dtype=onp.uint8, offset=header_len)
    if data.size != int(onp.prod(shape)):
        raise CorruptDataError(f'{path}: {data.size} bytes of data, expected {int(onp.prod(shape))} '
                               '(truncated or padded)')
    return data.reshape(shape)


def check_labels(labels: onp.ndarray, path: Path | str = 'labels') -> None:
    """Check that labels are 0-9 and that every class appears equally often, as in Fashion-MNIST."""
    if labels.size and labels.max() >= NUM_CLASSES:
        raise CorruptDataError(f'{path}: label {int(labels.max())} outside 0-{NUM_CLASSES - 1}')
    counts = onp.bincount(labels, minlength=NUM_CLASSES)
    if len(set(counts.tolist())) != 1:
        raise CorruptDataError(f'{path}: classes are not balanced (counts per class {counts.tolist()})')


@lru_cache(maxsize=4)
def _read_split(folder: str, split: str, mtimes: tuple) -> tuple[onp.ndarray, onp.ndarray]:
    image_file, label_file = (Path(folder) / name for name in FILES[split])
    n = SPLIT_SIZES[split]
    images = read_idx(image_file, IMAGE_MAGIC, (n, *IMAGE_SHAPE))
    labels = read_idx(label_file, LABEL_MAGIC, (n,))
    check_labels(labels, label_file)
    return images, labels.astype(onp.int32)


def read_split(folder: Path | str, split: str = 'train') -> tuple[onp.ndarray, onp.ndarray]:
    """Read and check one split (``'train'`` or ``'test'``) from a folder with the four IDX files.

    Returns ``(images, labels)``: uint8 ``(N, 28, 28)`` and int32 ``(N,)``. Cached per folder and
    file modification time, so asking twice costs nothing.
    """
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(folder)
    paths = [folder / name for name in FILES[split]]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f'{folder}: missing {", ".join(missing)}')
    return _read_split(str(folder), split, tuple(p.stat().st_mtime_ns for p in paths))


def _check_folder(folder: Path) -> None:
    for split in FILES:
        read_split(folder, split)


def _shown(path: Path) -> str:
    """A path as a person reads it: the home folder as ``~``."""
    home = str(Path.home())
    text = str(path)
    return '~' + text[len(home):] if home != '/' and text.startswith(home + os.sep) else text


def _network_ok(timeout: float = 3.0) -> bool:
    from mxnet.gluon.utils import _get_repo_url
    host = urlparse(_get_repo_url()).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def download_to_cache(cache: Path | None = None) -> Path:
    """Download Fashion-MNIST with gluon into MXNet's cache, atomically.

    The files land in a temporary folder next to the cache, are checked, and only then renamed into
    place: an interrupted or failed download leaves nothing half-written behind.
    """
    from mxnet.gluon.data.vision import FashionMNIST

    cache = Path(cache) if cache is not None else mxnet_cache_dir()
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix='.fashion-mnist-', dir=cache.parent))
    try:
        for train in (True, False):
            FashionMNIST(root=str(staging), train=train)
        _check_folder(staging)
        cache.mkdir(exist_ok=True)
        for names in FILES.values():
            for name in names:
                os.replace(staging / name, cache / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cache


def find_fashion_mnist(download: bool = True) -> Path:
    """The first folder that holds a valid Fashion-MNIST, downloading into MXNet's cache as a last resort.

    Raises:
        DataNotFoundError: listing every place looked at, what was wrong there, and three fixes.
    """
    env = os.environ.get(ENV_VAR)
    cache = mxnet_cache_dir()
    places = [(f'${ENV_VAR}', Path(env).expanduser() if env else None),
              ('Debian package dataset-fashion-mnist', DEBIAN_DIR),
              ("MXNet's cache", cache)]
    report = []
    for label, folder in places:
        if folder is None:
            report.append(f'{label}: not set')
            continue
        try:
            _check_folder(folder)
        except (OSError, CorruptDataError) as e:      # missing, unreadable (permissions) or not Fashion-MNIST
            reason = (f'cannot read {e.filename or folder} ({e.strerror})'
                      if isinstance(e, OSError) and e.strerror else str(e))
            reason = reason.replace(f'{folder}: ', '').replace(f'{folder}/', '')   # said once, in front
            report.append(f'{_shown(folder)} ({label}): {reason}')
            continue
        if env and folder != places[0][1]:
            warnings.warn(f'${ENV_VAR}={env} has no valid Fashion-MNIST ({report[0]}); '
                          f'using {_shown(folder)} instead', stacklevel=2)
        return folder
    if download:
        if _network_ok():
            try:
                return download_to_cache(cache)
            except Exception as e:  # noqa: BLE001 - any failure of the download is reported below
                report.append(f'download with gluon failed: {e}')
        else:
            report.append("download with gluon: skipped, MXNet's dataset server is not reachable")
    raise DataNotFoundError(not_found_message(report))


def not_found_message(report: Sequence[str]) -> str:
    """The one error a student sees when the data is nowhere: where we looked and how to fix it."""
    looked = '\n'.join(f'  {i}. {line}' for i, line in enumerate(report, 1))
    files = ', '.join(name for names in FILES.values() for name in names)
    return (f'Fashion-MNIST not found. Looked in:\n{looked}\n'
            'Fix it in one of three ways:\n'
            '  1. Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist   (or `make data` as root)\n'
            f'  2. Point ${ENV_VAR} at a folder with the four files {files}\n'
            '  3. With a network connection, run `python -m d2l_extras.data` to download them into '
            f"MXNet's cache ({_shown(mxnet_cache_dir())})")


def load_arrays(split: str = 'train', root: Path | str | None = None) -> tuple[onp.ndarray, onp.ndarray]:
    """Fashion-MNIST as NumPy arrays: uint8 images ``(N, 28, 28)`` and int32 labels ``(N,)``."""
    return read_split(root if root is not None else find_fashion_mnist(), split)


class BatchLoader:
    """Mini-batches from arrays in memory, shuffled with a seed and resized a whole batch at a time.

    Each pass yields ``(X, y)`` as MXNet NumPy arrays on the CPU: ``X`` float32 ``(B, 1, H, W)`` in
    [0, 1] and ``y`` int32 ``(B,)``, what d2l's ``train_ch6`` expects. Resizing is bilinear (OpenCV),
    the same as gluon's ``transforms.Resize`` followed by ``ToTensor`` in d2l's loader, but done on
    the batch in one call instead of image by image in Python.
    """

    def __init__(self, images: onp.ndarray, labels: onp.ndarray, batch_size: int,
                 resize: int | None = None, shuffle: bool = False, seed: int = 0) -> None:
        if not isinstance(images, onp.ndarray) or images.ndim != 3 or images.dtype != onp.uint8:
            got = f'{images.dtype} {images.shape}' if isinstance(images, onp.ndarray) else type(images).__name__
            raise ValueError(f'images must be a uint8 NumPy array (N, H, W), got {got}')
        labels = onp.asarray(labels)
        if labels.ndim != 1 or not onp.issubdtype(labels.dtype, onp.integer):
            raise ValueError(f'labels must be a 1-D array of integer class numbers 0-{NUM_CLASSES - 1}, got '
                             f'{labels.dtype} {labels.shape}')
        if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise ValueError(f'labels must lie in 0-{NUM_CLASSES - 1} (the classes of Fashion-MNIST), got '
                             f'{labels.min()}..{labels.max()}')
        if len(images) != len(labels):
            raise ValueError(f'images and labels differ in length: {len(images)} vs {len(labels)}')
        batch_size = check_int('batch_size', batch_size, high=MAX_BATCH)   # the memory check is the recipe's
        if resize is not None:
            resize = check_int('resize', resize, high=MAX_IMAGE_SIZE)     # None: the images' own 28 px
        check_bool('shuffle', shuffle)
        seed = check_int('seed', seed, low=0, high=2 ** 32 - 1)           # NumPy seeds the shuffle with it
        self.images, self.labels = images, labels
        self.batch_size, self.resize, self.shuffle, self.seed = batch_size, resize, shuffle, seed
        self.epoch = 0

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def __iter__(self) -> Iterator:
        n = len(self.images)
        order = (onp.random.default_rng(self.seed + self.epoch).permutation(n)
                 if self.shuffle else onp.arange(n))
        self.epoch += 1
        for start in range(0, n, self.batch_size):
            yield self.batch(order[start:start + self.batch_size])

    def batch(self, index: onp.ndarray):
        """The batch of the given example indices, resized and scaled."""
        from mxnet import np, npx
        x = np.array(self.images[index][..., None], dtype='uint8')         # (B, H, W, 1)
        if self.resize is not None:
            x = npx.image.resize(x, size=(self.resize, self.resize))     # bilinear, like transforms.Resize
        x = x.transpose(0, 3, 1, 2).astype('float32') / 255               # like transforms.ToTensor
        return x, np.array(self.labels[index], dtype='int32')


def load_data_fashion_mnist(batch_size: int, resize: int | None = None, root: Path | str | None = None,
                            seed: int = 0) -> tuple[BatchLoader, BatchLoader]:
    """Training (shuffled) and test loaders, like ``d2l.load_data_fashion_mnist`` but offline and fast."""
    folder = Path(root) if root is not None else find_fashion_mnist()
    train = BatchLoader(*read_split(folder, 'train'), batch_size, resize, shuffle=True, seed=seed)
    test = BatchLoader(*read_split(folder, 'test'), batch_size, resize)
    return train, test


def check_labels_in_range(name: str, values, num_classes: int = NUM_CLASSES) -> onp.ndarray:
    """``values`` as an int64 array if every one is a whole number in 0 .. num_classes - 1, else a ValueError."""
    array = onp.asarray(values.asnumpy() if hasattr(values, 'asnumpy') else values)
    if array.dtype == bool or not (onp.issubdtype(array.dtype, onp.integer) or
                                   (onp.issubdtype(array.dtype, onp.floating) and (array == onp.round(array)).all())):
        raise ValueError(f'{name} must be class numbers (whole numbers 0-{num_classes - 1}), got {array.dtype} '
                         f'values such as {array.ravel()[:3].tolist()}')
    array = array.astype(onp.int64)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(f'{name} must lie in 0-{num_classes - 1}, got {array.min()}..{array.max()}')
    return array


def text_labels(labels, name: str = 'labels') -> list[str]:
    """Class names of integer labels (0-9); a ValueError naming ``name`` for anything else."""
    return [CLASS_NAMES[i] for i in check_labels_in_range(name, labels).ravel()]


def show_images(images, labels=None, predictions=None, ncols: int = 8, scale: float = 1.4):
    """A grid of images titled with their class names (and predictions, marked when wrong).

    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    images = [onp.asarray(img.asnumpy() if hasattr(img, 'asnumpy') else img).squeeze() for img in images]
    if not images:
        raise ValueError('images must hold at least one image')
    ncols = check_int('ncols', ncols, high=64)
    scale = check_real('scale', scale, 0, 10, low_open=True)
    names = {}
    for name, values in (('labels', labels), ('predictions', predictions)):
        if values is not None:
            names[name] = text_labels(values, name)
            if len(names[name]) != len(images):
                raise ValueError(f'{name} must give one class per image ({len(images)}), got {len(names[name])}')
    nrows = -(-len(images) // ncols)
    ncols = min(ncols, len(images))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * (scale + 0.3)), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis('off')
        if i >= len(images):
            continue
        ax.imshow(images[i], cmap='gray_r' if images[i].ndim == 2 else None)
        if labels is not None:
            title = names['labels'][i]
            color = 'black'
            if predictions is not None:
                pred = names['predictions'][i]
                color = 'black' if pred == title else 'crimson'
                title = f'{title}\n(pred: {pred})'
            ax.set_title(title, fontsize=9, color=color)
    fig.tight_layout()
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m d2l_extras.data``: find (or download) and check the data, or explain how to get it."""
    parser = argparse.ArgumentParser(prog='python -m d2l_extras.data', description=main.__doc__)
    parser.add_argument('--no-download', action='store_true', help='never try the network')
    args = parser.parse_args(argv)
    try:
        folder = find_fashion_mnist(download=not args.no_download)
    except DataNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    sizes = ' + '.join(f'{n} {split}' for split, n in SPLIT_SIZES.items())
    print(f'Fashion-MNIST: {_shown(folder)} ({sizes} images, checked)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
