"""Helpers behind the DenseNet teaching notebooks (MXNet Gluon + d2l).

One concern per module:

- ``densenet``: the lesson's model code (twins of the ``#@save`` cells of notebooks 01-03);
- ``sizes``: limits and checks of every size, spatial sizes, the compression rule, parameter counts;
- ``model_zoo``: the registry of every model by name, and the general DenseNet(-B/-C/-BC) builder;
- ``resnet``: the ResNets DenseNet is compared with;
- ``summary``: what a net costs, layer by layer (shapes, parameters, FLOPs, activations);
- ``explore``: what the sliders show;
- ``memory``: the measured memory of one training step;
- ``data``: Fashion-MNIST offline (find, check, batch, show);
- ``devices``: GPUs that really work, and why not;
- ``training``, ``recipes``, ``evaluation``, ``train`` (the CLI): training, notebook 04;
- ``speedups``: faster CPU training without changing the lesson's code;
- ``navigation``, ``slides``: the notebooks' links and the offline slide decks.

``compat`` comes first: what MXNet 1.9.1 needs of the Python and numpy it runs on, set before anything imports
MXNet. Importing the package loads numpy and nothing heavier, and downloads nothing.
"""
from d2l_extras import compat  # noqa: I001  (first: before anything imports MXNet)
import os
import random
import sys
from importlib.metadata import PackageNotFoundError, version

__version__ = '0.1.0'
REQUIRED = {'mxnet': '1.9.1', 'd2l': '1.0.3'}   # mxnet-cu112 stands in for mxnet on a GPU machine


def use_all_cores() -> None:
    """Let MXNet use every CPU core; call it before ``import mxnet`` (an ``OMP_NUM_THREADS`` you set wins).

    MXNet 1.9 starts one OpenMP thread per two cores (it assumes hyper-threading), which leaves half of
    a laptop's cores idle: on 2 cores, training runs about 1.6 times faster with both.
    """
    os.environ.setdefault('OMP_NUM_THREADS', str(os.cpu_count() or 1))


def _installed(package: str) -> str | None:
    for name in (package, 'mxnet-cu112') if package == 'mxnet' else (package,):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def check_environment(seed: int = 0) -> None:
    """The notebooks' set-up in one line: a supported Python, MXNet 1.9.1 and d2l 1.0.3, every CPU core, fixed seeds.

    Raises a RuntimeError that says how to fix a wrong Python or package version. Call it before MXNet is
    imported, so that MXNet starts with all cores (``use_all_cores``).
    """
    compat.check_python()
    for package, wanted in REQUIRED.items():
        found = _installed(package)
        if found != wanted:
            raise RuntimeError(f'{package} {wanted} is needed, found {found or "nothing"}: run `make setup`')
    if 'mxnet' not in sys.modules:
        use_all_cores()
    import mxnet as mx
    import numpy as onp
    if 'ipykernel' in sys.modules:     # a notebook: pyplot sets up inline figures, also for bare Figures
        import matplotlib.pyplot  # noqa: F401
    mx.random.seed(seed)
    onp.random.seed(seed)
    random.seed(seed)
    print(f'Python {compat.python_version()}, MXNet {mx.__version__}, d2l {REQUIRED["d2l"]}: ready (seed {seed})')
