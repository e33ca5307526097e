"""Checks before any training: the loaders, the net and the memory of the devices agree with the recipe.

The run folder's checks (writable, room for two checkpoints, not another run's) are
``RunFolder.preflight``; the devices' (distinct, working) are ``devices.resolve_devices``.
"""
from __future__ import annotations

import math

import mxnet as mx

from .devices import free_memory
from .recipes import Recipe, build_model
from .runs import parameter_bytes, parameter_shapes, shape_difference

#: Peak memory of a training step / the forward activations that ``summary.costs`` counts: measured
#: 1.05-1.32 with MXNet 1.9.1 on the CPU (hybridized, static memory; 32 px at batch 128 and 512, 96 px at
#: 64 and 256, the lesson's model), so the estimate errs on the large side.
STEP_MEMORY_FACTOR = 1.35
#: Bytes per parameter value a step holds besides the activations: weight, gradient, update scratch.
PARAMETER_COPIES = 3


def check_loaders(train_iter, test_iter, recipe: Recipe) -> None:
    """The loaders' batch size, image size, seed and shuffling are the recipe's (when they say them)."""
    fix = 'load the data with load_data(recipe)'
    for name, loader in (('train_iter', train_iter), ('test_iter', test_iter)):
        if not hasattr(loader, '__iter__'):
            raise ValueError(f'{name} must be a re-iterable loader of (X, y) batches, got {type(loader).__name__}')
        if getattr(loader, 'resize', recipe.resize) != recipe.resize:
            raise ValueError(f'{name} resizes images to {loader.resize} px, the recipe to {recipe.resize}: {fix}')
    for attribute, expected in (('batch_size', recipe.batch_size), ('seed', recipe.seed), ('shuffle', True)):
        value = getattr(train_iter, attribute, expected)
        if value != expected:
            raise ValueError(f'train_iter has {attribute}={value!r}, the recipe asks for {expected!r}: {fix}')
    if not hasattr(train_iter, '__len__'):
        raise ValueError(f'train_iter must have a length (batches per epoch; the schedule and the progress need '
                         f'it), got {type(train_iter).__name__}: {fix}')
    if len(train_iter) == 0:
        raise ValueError('train_iter holds no batch: give it at least one example')


def check_batch(X, recipe: Recipe, name: str = 'train_iter') -> None:
    """A batch's images are (B, C, resize, resize) with at most ``batch_size`` examples."""
    shape = tuple(X.shape)
    if len(shape) != 4 or shape[2:] != (recipe.resize, recipe.resize) or shape[0] > recipe.batch_size:
        raise ValueError(f'{name} gave a batch of shape {shape}, the recipe asks for at most {recipe.batch_size} '
                         f'images of {recipe.resize} x {recipe.resize} px: load the data with load_data(recipe)')


def check_net(net, recipe: Recipe) -> dict:
    """The net is the recipe's model and can process its images; returns its ``summary.costs`` per image."""
    from mxnet import gluon
    from .summary import costs
    if not isinstance(net, gluon.HybridBlock):
        raise ValueError(f'net must be a Gluon HybridBlock (train compiles it), got {type(net).__name__}: '
                         'build it with build_model(recipe)')
    per_image = costs(net, recipe.resize)              # also sets the parameters' shapes
    expected = build_model(recipe)
    costs(expected, recipe.resize)
    difference = shape_difference(parameter_shapes(expected), parameter_shapes(net))
    if difference:
        raise ValueError(f"net is not the recipe's model ({recipe.model}, growth_rate {recipe.growth_rate}, "
                         f"convs_per_block {recipe.convs_per_block}): {difference}; build it with build_model(recipe)")
    return per_image


def copies_bytes(net, recipe: Recipe) -> int:
    """Bytes of the parameters' copies a step holds (weight, gradient, scratch, and momentum if any)."""
    return (PARAMETER_COPIES + (recipe.momentum > 0)) * parameter_bytes(net)


def check_memory(net, per_image: dict, recipe: Recipe, devices: list[mx.Context]) -> None:
    """Refuse a batch that needs more memory than a device has, with the estimate and the largest that fits.

    Each device gets its share of the batch; a step needs about ``STEP_MEMORY_FACTOR`` times the forward
    activations of those images, plus the parameters' copies.
    """
    image_bytes = per_image['activations MiB'] * 2 ** 20 * STEP_MEMORY_FACTOR
    images = math.ceil(recipe.batch_size / len(devices))
    need = images * image_bytes + copies_bytes(net, recipe)
    for device in devices:
        free = free_memory(device)
        if free is not None and need > free:
            fits = max(0, int((free - copies_bytes(net, recipe)) / image_bytes)) * len(devices)
            raise ValueError(
                f"batch_size {recipe.batch_size} needs about {need / 2 ** 30:,.1f} GiB for one training step on "
                f"{device} ({per_image['activations MiB']:.2f} MiB of activations per {recipe.resize} px image, "
                f'times {STEP_MEMORY_FACTOR} for the backward pass), but {device} has {free / 2 ** 30:,.1f} GiB '
                f'available: use batch_size {fits} or less (--batch-size), or a smaller resize')


def checkpoint_bytes(net, recipe: Recipe) -> int:
    """Room a run folder needs: two checkpoints (parameters, trainer state) and the final parameters."""
    params = parameter_bytes(net)
    states = params if recipe.momentum > 0 else 0
    return 2 * (params + states) + params + 2 ** 20          # and a MiB for the JSON files
