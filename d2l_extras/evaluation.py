"""What a trained classifier gets right and wrong: accuracy, predictions, confusion matrix, mistakes.

Every function takes the network and a loader of ``(X, y)`` batches (such as the test ``BatchLoader``
of :mod:`d2l_extras.data`) and runs on one or several devices, adding up on the device and copying to
the host once at the end, not after every batch.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import mxnet as mx
import numpy as onp

from .data import CLASS_NAMES, check_labels_in_range, show_images
from .devices import net_devices, resolve_devices
from .sizes import MAX_CLASSES


def evaluate_accuracy(net, data_iter: Iterable, devices=None) -> float:
    """Share of examples whose highest-scoring class is the label.

    Batches are split over ``devices`` (anything ``devices.resolve_devices`` takes; default: where the
    net's parameters are).
    """
    from mxnet import gluon
    devices = net_devices(net) if devices is None else resolve_devices(devices)[0]
    correct = [None] * len(devices)
    total = 0
    for X, y in data_iter:
        total += y.shape[0]
        Xs = gluon.utils.split_and_load(X, devices, even_split=False)
        ys = gluon.utils.split_and_load(y, devices, even_split=False)
        for i, (Xi, yi) in enumerate(zip(Xs, ys)):
            hits = (net(Xi).argmax(axis=1).astype('int32') == yi.astype('int32')).astype('float32').sum()
            correct[i] = hits if correct[i] is None else correct[i] + hits
    if total == 0:
        raise ValueError('data_iter must yield at least one batch')
    return sum(float(c.item()) for c in correct if c is not None) / total


def predict(net, data_iter: Iterable, device: mx.Context | str | None = None) -> tuple[onp.ndarray, onp.ndarray]:
    """Labels and predicted class probabilities of every example: int ``(N,)`` and float32 ``(N, C)``.

    Runs on ``device`` (default: the first device of the net's parameters).
    """
    from mxnet import npx
    device = net_devices(net)[0] if device is None else resolve_devices(device)[0][0]
    labels, probs = [], []
    for X, y in data_iter:
        probs.append(npx.softmax(net(X.as_in_ctx(device)), axis=1))
        labels.append(y)
    if not labels:
        raise ValueError('data_iter must yield at least one batch')
    return (onp.concatenate([y.asnumpy() for y in labels]).astype(onp.int64),
            onp.concatenate([p.asnumpy() for p in probs]).astype(onp.float32))


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int],
                     num_classes: int = len(CLASS_NAMES)) -> onp.ndarray:
    """Counts ``cm[true, predicted]`` as an int64 ``(num_classes, num_classes)`` array."""
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or not 1 <= num_classes <= MAX_CLASSES:
        raise ValueError(f'num_classes must be an integer from 1 to {MAX_CLASSES:,}, got {num_classes!r}')
    labels = check_labels_in_range('labels', labels, num_classes)
    predictions = check_labels_in_range('predictions', predictions, num_classes)
    if labels.shape != predictions.shape:
        raise ValueError(f'labels and predictions differ in shape: {labels.shape} vs {predictions.shape}')
    return onp.bincount(labels * num_classes + predictions,
                        minlength=num_classes ** 2).reshape(num_classes, num_classes)


def most_confused(cm: onp.ndarray, k: int = 5, class_names: Sequence[str] = CLASS_NAMES):
    """The ``k`` largest counts off the diagonal of a confusion matrix: true class, predicted class, count."""
    import pandas as pd
    cm = onp.asarray(cm)
    if cm.ndim != 2 or cm.shape != (len(class_names), len(class_names)):
        raise ValueError(f'cm must be square with one row per class ({len(class_names)}), got {cm.shape}')
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f'k must be a positive integer, got {k!r}')
    off = cm * (1 - onp.eye(len(cm), dtype=cm.dtype))
    order = onp.argsort(-off, axis=None, kind='stable')[:k]
    rows = [(class_names[i], class_names[j], int(off[i, j])) for i, j in zip(*onp.unravel_index(order, cm.shape))]
    return pd.DataFrame(rows, columns=['true', 'predicted', 'count'])


def plot_confusion_matrix(cm: onp.ndarray, class_names: Sequence[str] = CLASS_NAMES, figsize=(6.5, 5.5)):
    """The confusion matrix as a heat map with the count in every cell; returns the figure."""
    import matplotlib.pyplot as plt
    cm = onp.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(class_names):
        raise ValueError(f'cm must be square with one row per class ({len(class_names)}), got {cm.shape}')
    fig, ax = plt.subplots(figsize=figsize)
    ax.imshow(cm, cmap='Blues')
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha='right')
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    for (i, j), count in onp.ndenumerate(cm):
        ax.text(j, i, int(count), ha='center', va='center', fontsize=7,
                color='white' if count > cm.max() / 2 else 'black')
    fig.tight_layout()
    return fig


def most_confident_mistakes(labels: Sequence[int], probs: onp.ndarray, k: int = 8) -> onp.ndarray:
    """Indices of the ``k`` wrong predictions made with the highest probability, most confident first."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f'k must be a positive integer, got {k!r}')
    probs = onp.asarray(probs)
    if probs.ndim != 2:
        raise ValueError(f'probs must be (examples, classes), got shape {probs.shape}')
    labels = check_labels_in_range('labels', labels, probs.shape[1])
    if labels.shape != probs.shape[:1]:
        raise ValueError(f'labels and probs must have one row per example: {labels.shape[0] if labels.ndim else 0} '
                         f'labels, {probs.shape[0]} rows of probs')
    predictions = probs.argmax(axis=1)
    wrong = onp.flatnonzero(predictions != labels)
    confidence = probs[wrong, predictions[wrong]]
    return wrong[onp.argsort(-confidence, kind='stable')[:k]]


def show_predictions(images, labels: Sequence[int], probs: onp.ndarray, index: Sequence[int] | None = None,
                     ncols: int = 8):
    """A gallery of images titled ``true (pred: predicted)``, wrong ones in red; returns the figure.

    ``images`` are the test images (e.g. the uint8 28x28 originals), ``index`` picks which to show
    (default: the first ``ncols``).
    """
    index = onp.arange(min(ncols, len(labels))) if index is None else onp.asarray(index)
    predictions = onp.asarray(probs).argmax(axis=1)
    return show_images([images[i] for i in index], [labels[i] for i in index],
                       [predictions[i] for i in index], ncols=ncols)
