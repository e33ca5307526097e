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
- ``cores``: the other MXNet processes computing on this machine (``use_all_cores`` shares the cores);
- ``training``, ``recipes``, ``evaluation``, ``train`` (the CLI): training, notebook 04;
- ``speedups``: faster CPU training without changing the lesson's code;
- ``navigation``, ``slides``: the notebooks' links and the offline slide decks.

``compat`` comes first: what MXNet 1.9.1 needs of the Python and numpy it runs on, set as MXNet is imported.
Importing the package loads nothing heavy and downloads nothing.
"""
from d2l_extras import compat  # noqa: I001  (first: before anything imports MXNet)
import os
import random
import sys

__version__ = '0.1.0'
REQUIRED = {'mxnet': '1.9.1', 'd2l': '1.0.3'}   # mxnet-cu112 stands in for mxnet on a GPU machine


def use_all_cores() -> None:
    """Let MXNet use every CPU core, or its share beside other MXNet processes that are computing; call it
    before ``import mxnet`` (an ``OMP_NUM_THREADS`` you set wins).

    MXNet 1.9 starts one OpenMP thread per two cores (it assumes hyper-threading), which leaves half of
    a laptop's cores idle: on 2 cores, training runs 1.26 to 1.8 times faster with both. But two trainings
    that each take every core of 2 run 4.6 times slower each (benchmarks/RESULTS.md): beside busy MXNet
    processes, this one takes cores / (1 + their number) threads, and says so in one line on stderr.
    """
    if 'OMP_NUM_THREADS' in os.environ:
        return
    from . import cores
    count, busy = os.cpu_count() or 1, cores.busy_mxnet_processes()
    threads = max(1, count // (1 + busy))
    os.environ['OMP_NUM_THREADS'] = str(threads)
    if threads < count:
        print(f'note: {busy} other MXNet process(es) busy on the {count} cores of this machine: using {threads} '
              f'thread(s), not {count} (trainings that each take every core slow each other down several times '
              'over); set OMP_NUM_THREADS to choose', file=sys.stderr)


def _installed(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version   # here: importing the package stays instant
    for name in (package, 'mxnet-cu112') if package == 'mxnet' else (package,):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def show_figures_inline() -> None:
    """In a notebook, show every matplotlib figure as an image from now on (``%matplotlib inline``).

    Without it a figure can show as text, ``<Figure size 900x240 with 2 Axes>``: matplotlib-inline registers
    the figures' PNG output when pyplot loads its backend, which matplotlib 3.7.2 does only at the first
    pyplot figure; and under IPython 9.16 or newer that first load fails half-way (pyplot's
    ``install_repl_displayhook`` imports ``IPython.core.pylabtools.backend2gui``, removed in 9.16), so
    matplotlib-inline defers the registration until that cell has finished. A ``Figure`` made without
    pyplot (the explorers') never triggers it at all. ``%matplotlib inline`` registers it at once.
    """
    shell = sys.modules['IPython'].get_ipython() if 'IPython' in sys.modules else None
    if shell is not None and 'ipykernel' in sys.modules:
        shell.run_line_magic('matplotlib', 'inline')


def check_environment(seed: int = 0) -> None:
    """The notebooks' set-up in one line: a supported Python, MXNet 1.9.1 and d2l 1.0.3, every CPU core, fixed seeds,
    figures shown as images.

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
    show_figures_inline()
    mx.random.seed(seed)
    onp.random.seed(seed)
    random.seed(seed)
    print(f'Python {compat.python_version()}, MXNet {mx.__version__}, d2l {REQUIRED["d2l"]}: ready (seed {seed})')
