"""Helpers behind the DenseNet teaching notebooks (MXNet Gluon + d2l).

One concern per module: ``data`` (Fashion-MNIST offline), ``devices`` (GPUs that really work),
``densenet`` (the lesson's model code), ``explore`` (what the sliders show), ``training``.
Importing the package loads nothing heavy and downloads nothing.
"""
__version__ = '0.1.0'
