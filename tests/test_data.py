"""d2l_extras.data: reading and checking IDX files, finding the data offline, batching for MXNet."""
import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as onp
import pytest

from conftest import write_idx
from d2l_extras import data


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No copy of the data anywhere: env var, Debian folder and MXNet cache all point at empty places."""
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / 'nonexistent'))
    monkeypatch.setattr(data, 'DEBIAN_DIR', tmp_path / 'debian')
    monkeypatch.setenv('MXNET_HOME', str(tmp_path / 'mxnet-home'))
    monkeypatch.setattr(data, '_network_ok', lambda timeout=3.0: False)
    return tmp_path


# --- read_idx -----------------------------------------------------------------------------------

def test_read_idx_round_trip(tmp_path):
    images = onp.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    path = write_idx(tmp_path / 'x.gz', images)
    got = data.read_idx(path, 2051, (2, 28, 28))
    assert got.dtype == onp.uint8 and (got == images).all()


def test_read_idx_wrong_magic(tmp_path):
    path = write_idx(tmp_path / 'x.gz', onp.zeros((2, 28, 28)), magic=2049)
    with pytest.raises(data.CorruptDataError, match='magic number 2049, expected 2051'):
        data.read_idx(path, 2051, (2, 28, 28))


def test_read_idx_wrong_count(tmp_path):
    path = write_idx(tmp_path / 'x.gz', onp.zeros((3, 28, 28)))
    with pytest.raises(data.CorruptDataError, match=r'header says shape \(3, 28, 28\), expected \(2, 28, 28\)'):
        data.read_idx(path, 2051, (2, 28, 28))


def test_read_idx_wrong_image_size(tmp_path):
    path = write_idx(tmp_path / 'x.gz', onp.zeros((2, 32, 32)))
    with pytest.raises(data.CorruptDataError, match='expected'):
        data.read_idx(path, 2051, (2, 28, 28))


def test_read_idx_truncated_data(tmp_path):
    path = write_idx(tmp_path / 'x.gz', onp.zeros((2, 28, 28)))
    raw = gzip.open(path).read()
    with gzip.open(path, 'wb') as f:
        f.write(raw[:-10])
    with pytest.raises(data.CorruptDataError, match='truncated'):
        data.read_idx(path, 2051, (2, 28, 28))


def test_read_idx_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / 'x.gz', onp.zeros((2, 28, 28)))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(data.CorruptDataError, match='not a readable gzip file'):
        data.read_idx(path, 2051, (2, 28, 28))


def test_read_idx_not_gzip(tmp_path):
    path = tmp_path / 'x.gz'
    path.write_bytes(b'plain text, not gzip')
    with pytest.raises(data.CorruptDataError, match='not a readable gzip file'):
        data.read_idx(path, 2051, (2, 28, 28))


def test_read_idx_short_header(tmp_path):
    path = tmp_path / 'x.gz'
    with gzip.open(path, 'wb') as f:
        f.write(b'\x00\x00')
    with pytest.raises(data.CorruptDataError, match='too short'):
        data.read_idx(path, 2051, (2, 28, 28))


def test_labels_out_of_range():
    with pytest.raises(data.CorruptDataError, match='label 12 outside 0-9'):
        data.check_labels(onp.array([0, 1, 12]))


def test_labels_unbalanced():
    with pytest.raises(data.CorruptDataError, match='not balanced'):
        data.check_labels(onp.array([0] * 11 + list(range(1, 10))))


# --- read_split / load_data_fashion_mnist on the tiny fixture ----------------------------------------

def test_read_split(tiny_fashion_mnist):
    images, labels = data.read_split(tiny_fashion_mnist, 'train')
    assert images.shape == (60, 28, 28) and images.dtype == onp.uint8
    assert labels.dtype == onp.int32 and sorted(set(labels.tolist())) == list(range(10))


def test_read_split_bad_split(tiny_fashion_mnist):
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'val'"):
        data.read_split(tiny_fashion_mnist, 'val')


def test_read_split_missing_file(tiny_fashion_mnist):
    (tiny_fashion_mnist / 't10k-labels-idx1-ubyte.gz').unlink()
    with pytest.raises(FileNotFoundError, match='missing t10k-labels-idx1-ubyte.gz'):
        data.read_split(tiny_fashion_mnist, 'test')


def test_loaders_shapes_scale_and_resize(tiny_fashion_mnist):
    train, test = data.load_data_fashion_mnist(16, resize=32, root=tiny_fashion_mnist)
    assert len(train) == 4 and len(test) == 1
    batches = list(train)
    assert [b[0].shape for b in batches] == [(16, 1, 32, 32)] * 3 + [(12, 1, 32, 32)]
    X, y = batches[0]
    assert X.dtype == onp.float32 and y.dtype == onp.int32
    assert 0 <= float(X.min()) and float(X.max()) <= 1


def test_loader_matches_gluon_resize_and_to_tensor(tiny_fashion_mnist):
    """The batch path gives the same pixels as d2l's per-image Resize + ToTensor."""
    from mxnet import np
    from mxnet.gluon.data.vision import transforms
    images, labels = data.read_split(tiny_fashion_mnist, 'test')
    loader = data.BatchLoader(images, labels, batch_size=10, resize=48)
    X, _ = next(iter(loader))
    per_image = transforms.Compose([transforms.Resize(48), transforms.ToTensor()])
    expected = onp.stack([per_image(np.array(img[..., None])).asnumpy() for img in images])
    onp.testing.assert_allclose(X.asnumpy(), expected, atol=1e-6)


def test_loader_shuffles_reproducibly_and_differently_per_epoch(tiny_fashion_mnist):
    images, labels = data.read_split(tiny_fashion_mnist, 'train')
    first = data.BatchLoader(images, labels, 60, shuffle=True, seed=3)
    second = data.BatchLoader(images, labels, 60, shuffle=True, seed=3)
    epoch1, epoch2 = ([y.asnumpy() for _, y in loader] for loader in (first, first))
    assert (epoch1[0] == [y.asnumpy() for _, y in second][0]).all()
    assert not (epoch1[0] == epoch2[0]).all()
    assert sorted(epoch1[0].tolist()) == sorted(labels.tolist())


@pytest.mark.parametrize('kwargs, message', [
    (dict(batch_size=0), 'batch_size must be an integer from 1 to 4,096'),
    (dict(batch_size=10 ** 9), 'batch_size must be an integer from 1 to 4,096, got 1000000000'),
    (dict(batch_size=2.5), 'batch_size must be an integer'),
    (dict(batch_size=4, resize=0), 'resize must be an integer from 1 to 1,024'),
    (dict(batch_size=4, resize=20000), 'resize must be an integer from 1 to 1,024, got 20000'),
])
def test_loader_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.BatchLoader(onp.zeros((4, 28, 28), onp.uint8), onp.zeros(4, onp.int32), **kwargs)


def test_loader_bad_arrays():
    with pytest.raises(ValueError, match='images must be a uint8 NumPy array'):
        data.BatchLoader(onp.zeros((4, 28, 28)), onp.zeros(4, onp.int32), 2)
    with pytest.raises(ValueError, match='differ in length'):
        data.BatchLoader(onp.zeros((4, 28, 28), onp.uint8), onp.zeros(3, onp.int32), 2)


@pytest.mark.parametrize('images, labels, message', [
    ([[1]], [0], r'images must be a uint8 NumPy array \(N, H, W\), got list'),
    (onp.zeros((2, 28, 28), onp.uint8), [0, 10], r'labels must lie in 0-9 \(the classes of Fashion-MNIST\), got 0..10'),
    (onp.zeros((2, 28, 28), onp.uint8), [-1, 3], r'labels must lie in 0-9 .*got -1..3'),
    (onp.zeros((2, 28, 28), onp.uint8), [0.0, 1.0], r'labels must be a 1-D array of integer class numbers 0-9, got float64'),
    (onp.zeros((2, 28, 28), onp.uint8), onp.zeros((2, 1), onp.int32), r'labels must be a 1-D array .* got int32 \(2, 1\)'),
    (onp.zeros((2, 28, 28), onp.uint8), ['a', 'b'], r'labels must be a 1-D array of integer class numbers'),
])
def test_loader_refuses_junk_arrays_naming_them(images, labels, message):
    with pytest.raises(ValueError, match=message):
        data.BatchLoader(images, labels, 2)


def test_loader_takes_numpy_integers_and_label_lists():
    loader = data.BatchLoader(onp.zeros((4, 28, 28), onp.uint8), [0, 1, 2, 9], onp.int64(2), resize=onp.int32(32),
                              seed=onp.uint32(1))
    assert (loader.batch_size, loader.resize, loader.seed) == (2, 32, 1) and type(loader.batch_size) is int
    X, y = next(iter(loader))
    assert X.shape == (2, 1, 32, 32) and y.tolist() == [0, 1]


# --- finding the data -----------------------------------------------------------------------------

def test_find_prefers_env_var(tiny_fashion_mnist, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tiny_fashion_mnist))
    assert data.find_fashion_mnist(download=False) == tiny_fashion_mnist


def test_find_falls_back_past_a_bad_env_var_with_a_warning(tiny_fashion_mnist, nowhere, monkeypatch):
    monkeypatch.setattr(data, 'DEBIAN_DIR', tiny_fashion_mnist)
    with pytest.warns(UserWarning, match='has no valid Fashion-MNIST'):
        assert data.find_fashion_mnist(download=False) == tiny_fashion_mnist


def test_not_found_error_lists_places_and_fixes(nowhere):
    with pytest.raises(data.DataNotFoundError) as info:
        data.find_fashion_mnist()
    message = str(info.value)
    assert 'nonexistent' in message and 'Debian package dataset-fashion-mnist' in message
    assert "MXNet's cache" in message and 'not reachable' in message
    for fix in ('apt-get install dataset-fashion-mnist', data.ENV_VAR, 'python -m d2l_extras.data'):
        assert fix in message


def test_corrupt_copy_is_reported(tiny_fashion_mnist, nowhere, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tiny_fashion_mnist))
    write_idx(tiny_fashion_mnist / 'train-labels-idx1-ubyte.gz', onp.full(60, 11))
    with pytest.raises(data.DataNotFoundError, match='label 11 outside 0-9'):
        data.find_fashion_mnist(download=False)


def _fake_gluon_dataset(source, fail_on_test=False):
    """Stands in for gluon's FashionMNIST: 'downloads' by copying the fixture files into root."""
    class FakeFashionMNIST:
        def __init__(self, root, train=True):
            if fail_on_test and not train:
                raise OSError('connection reset')
            for name in data.FILES['train' if train else 'test']:
                Path(root, name).write_bytes((source / name).read_bytes())
    return FakeFashionMNIST


def test_download_lands_atomically_in_the_cache(tiny_fashion_mnist, nowhere, monkeypatch):
    import mxnet.gluon.data.vision as vision
    monkeypatch.setattr(vision, 'FashionMNIST', _fake_gluon_dataset(tiny_fashion_mnist))
    monkeypatch.setattr(data, '_network_ok', lambda timeout=3.0: True)
    folder = data.find_fashion_mnist()
    assert folder == data.mxnet_cache_dir()
    assert sorted(p.name for p in folder.iterdir()) == sorted(n for v in data.FILES.values() for n in v)
    assert [p.name for p in folder.parent.iterdir()] == ['fashion-mnist']  # no staging folder left


def test_failed_download_leaves_nothing_behind(tiny_fashion_mnist, nowhere, monkeypatch):
    import mxnet.gluon.data.vision as vision
    monkeypatch.setattr(vision, 'FashionMNIST', _fake_gluon_dataset(tiny_fashion_mnist, fail_on_test=True))
    monkeypatch.setattr(data, '_network_ok', lambda timeout=3.0: True)
    with pytest.raises(data.DataNotFoundError, match='download with gluon failed: connection reset'):
        data.find_fashion_mnist()
    cache_parent = data.mxnet_cache_dir().parent
    assert not cache_parent.exists() or list(cache_parent.iterdir()) == []


def test_cli_not_found_is_one_clear_message(tmp_path):
    env = dict(os.environ, FASHION_MNIST_DIR='/nonexistent', MXNET_HOME=str(tmp_path))
    code = ('import sys, pathlib; from d2l_extras import data; '
            f'data.DEBIAN_DIR = pathlib.Path({str(tmp_path / "none")!r}); '
            "sys.exit(data.main(['--no-download']))")
    result = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith('error: Fashion-MNIST not found. Looked in:')
    assert 'Traceback' not in result.stderr and result.stdout == ''


# --- the real data (installed by `make data`) ---------------------------------------------------------

@pytest.fixture(scope='module')
def real_folder():
    try:
        return data.find_fashion_mnist(download=False)
    except data.DataNotFoundError as e:
        pytest.fail(f'`make data` should have installed Fashion-MNIST:\n{e}')


def test_real_data_is_fashion_mnist(real_folder):
    for split, n in data.SPLIT_SIZES.items():
        images, labels = data.read_split(real_folder, split)
        assert images.shape == (n, 28, 28)
        assert onp.bincount(labels).tolist() == [n // 10] * 10
    # First training image of Fashion-MNIST is an ankle boot, second a t-shirt.
    assert data.text_labels(data.read_split(real_folder, 'train')[1][:2]) == ['ankle boot', 't-shirt']


def test_cli_reports_the_real_data(real_folder):
    result = subprocess.run([sys.executable, '-m', 'd2l_extras.data', '--no-download'],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert '60000 train + 10000 test images, checked' in result.stdout


# --- pictures ---------------------------------------------------------------------------------------

def test_show_images_titles_and_marks_mistakes(tiny_fashion_mnist):
    import matplotlib
    matplotlib.use('Agg')
    images, labels = data.read_split(tiny_fashion_mnist, 'test')
    fig = data.show_images(images[:3], labels[:3], predictions=[0, 0, 0], ncols=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ['t-shirt\n(pred: t-shirt)', 'trouser\n(pred: t-shirt)', 'pullover\n(pred: t-shirt)']
    assert fig.axes[1].title.get_color() == 'crimson'


def test_show_images_bad_arguments():
    with pytest.raises(ValueError, match='at least one image'):
        data.show_images([])
    with pytest.raises(ValueError, match='ncols must be an integer from 1 to 64, got 0'):
        data.show_images([onp.zeros((28, 28))], ncols=0)


@pytest.mark.parametrize('kwargs, message', [
    (dict(labels=[-1]), r'labels must lie in 0-9, got -1..-1'),
    (dict(labels=[10]), r'labels must lie in 0-9, got 10..10'),
    (dict(labels=[1.5]), r'labels must be class numbers \(whole numbers 0-9\)'),
    (dict(labels=['boot']), r'labels must be class numbers'),
    (dict(labels=[1, 2]), r'labels must give one class per image \(1\), got 2'),
    (dict(labels=[1], predictions=[-1]), r'predictions must lie in 0-9, got -1..-1'),
    (dict(labels=[1], predictions=[]), r'predictions must give one class per image \(1\), got 0'),
    (dict(ncols='abc'), r"ncols must be an integer from 1 to 64, got 'abc'"),
    (dict(scale=0), r'scale must be a finite number in \(0, 10\], got 0'),
])
def test_show_images_refuses_labels_that_are_no_class(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.show_images([onp.zeros((28, 28))], **kwargs)


def test_loaders_work_with_d2l_train_ch6(tiny_fashion_mnist, capsys, monkeypatch):
    """The loaders are drop-in for d2l's own training loop (d2l.train_ch6)."""
    import mxnet as mx
    from d2l import mxnet as d2l
    from mxnet.gluon import nn

    class NoPlot:   # d2l's Animator draws through IPython, which pytest does not run
        def __init__(self, **kwargs):
            pass

        def add(self, x, y):
            pass
    monkeypatch.setattr(d2l, 'Animator', NoPlot)
    mx.random.seed(0)
    train, test = data.load_data_fashion_mnist(10, resize=32, root=tiny_fashion_mnist)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, kernel_size=3), nn.GlobalAvgPool2D(), nn.Dense(10))
    d2l.train_ch6(net, train, test, num_epochs=1, lr=0.1, device=mx.cpu())
    assert 'test acc' in capsys.readouterr().out


@pytest.mark.parametrize('kwargs, message', [
    (dict(batch_size=True), 'batch_size must be an integer .* got True'),
    (dict(batch_size=4, resize=True), 'resize must be an integer'),
    (dict(batch_size=4, seed=-1), 'seed must be an integer from 0 .* got -1'),
    (dict(batch_size=4, seed=1.5), 'seed must be an integer from 0'),
    (dict(batch_size=4, shuffle=1), 'shuffle must be True or False, got 1'),
])
def test_loader_refuses_at_construction_not_at_the_first_batch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.BatchLoader(onp.zeros((4, 28, 28), onp.uint8), onp.zeros(4, onp.int32), **kwargs)


def test_an_unreadable_data_folder_is_reported_not_raised(tiny_fashion_mnist, nowhere, monkeypatch):
    """An unreadable folder raises PermissionError while looking (simulated as root, who may read anything)."""
    monkeypatch.setenv(data.ENV_VAR, str(tiny_fashion_mnist))
    if os.geteuid() == 0:
        def denied(folder, split):
            raise PermissionError(13, 'Permission denied', str(Path(folder) / data.FILES[split][0]))
        monkeypatch.setattr(data, 'read_split', denied)
    else:
        tiny_fashion_mnist.chmod(0)
    try:
        with pytest.raises(data.DataNotFoundError, match=r'cannot read .*train-images-idx3-ubyte.gz '
                                                         r'\(Permission denied\)'):
            data.find_fashion_mnist(download=False)
    finally:
        tiny_fashion_mnist.chmod(0o755)
