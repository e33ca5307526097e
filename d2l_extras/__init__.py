"""Helpers behind the DenseNet teaching notebooks (MXNet Gluon + d2l).

One concern per module:

- ``data``: Fashion-MNIST offline (find, check, batch, show);
- ``devices``: GPUs that really work, and why not;
- ``densenet``: the lesson's model code (twins of the ``#@save`` cells of notebooks 01-03);
- ``summary``: a layer-by-layer table (shapes, parameters, FLOPs, memory) of any Gluon net;
- ``explore``: what the sliders of notebooks 01-03 show;
- ``training``, ``profiles``, ``evaluation``, ``train`` (the CLI): training, notebook 04;
- ``model_zoo``, ``variants``, ``memory``: DenseNet-B/C/BC, ResNet, memory, notebook 05;
- ``navigation``, ``slides``: the notebooks' links and the offline slide decks.

Importing the package loads nothing heavy and downloads nothing.
"""
import os

__version__ = '0.1.0'


def use_all_cores() -> None:
    """Let MXNet use every CPU core; call it before ``import mxnet`` (an ``OMP_NUM_THREADS`` you set wins).

    MXNet 1.9 starts one OpenMP thread per two cores (it assumes hyper-threading), which leaves half of
    a laptop's cores idle: on 2 cores, training runs about 1.6 times faster with both.
    """
    os.environ.setdefault('OMP_NUM_THREADS', str(os.cpu_count() or 1))
