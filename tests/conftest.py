"""Shared fixtures: MXNet's NumPy interface on, seeds fixed, and a tiny Fashion-MNIST-shaped IDX set."""
import gzip
import struct

import numpy as onp
import pytest

import d2l_extras  # noqa: F401  (first: its compat module prepares numpy and Python for MXNet)
from mxnet import npx

npx.set_np()


def write_idx(path, array, magic=None):
    """Write a uint8 array as a gzip IDX file (magic 2051 for 3-D images, 2049 for 1-D labels)."""
    array = onp.asarray(array, dtype=onp.uint8)
    magic = magic if magic is not None else {1: 2049, 3: 2051}[array.ndim]
    header = struct.pack('>i', magic) + struct.pack(f'>{array.ndim}i', *array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.tobytes())
    return path


@pytest.fixture
def tiny_fashion_mnist(tmp_path, monkeypatch):
    """A folder with the four IDX files at 60 train / 10 test images, split sizes patched to match."""
    from d2l_extras import data
    monkeypatch.setattr(data, 'SPLIT_SIZES', {'train': 60, 'test': 10})
    data._read_split.cache_clear()
    rng = onp.random.default_rng(0)
    for split, n in (('train', 60), ('test', 10)):
        image_name, label_name = data.FILES[split]
        write_idx(tmp_path / image_name, rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / label_name, onp.arange(n) % 10)
    yield tmp_path
    data._read_split.cache_clear()
