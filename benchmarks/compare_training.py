"""Equal-budget CPU training on Fashion-MNIST of every model that notebook 05 compares (the registry's).

Every model gets the same recipe: 32 px and batch 128 with the deck's constant SGD learning rate 0.1,
3 epochs on a fixed random 10,000 of the 60,000 training images, tested on the first 5,000 test images,
the same seed and data order, trained by ``d2l_extras.training.train``. A model that needs more than
``MAX_FLOPS_RATIO`` times the FLOPs of the lesson's model at this size is left out (d2l's ResNet-18, made
for small images, needs about 40 times). Writes ``benchmarks/compare_training.json``, which notebook 05
reads; accuracies do not depend on how busy the machine is, times do.

    .venv/bin/python benchmarks/compare_training.py
"""
import datetime
import json
import pathlib

import d2l_extras  # noqa: F401  (first: its compat module prepares numpy and Python for MXNet)
import mxnet as mx
import numpy as onp
from mxnet import npx

from d2l_extras import use_all_cores
from d2l_extras.data import BatchLoader, load_arrays
from d2l_extras.model_zoo import build, compared
from d2l_extras.recipes import Recipe, build_model
from d2l_extras.summary import costs
from d2l_extras.training import train

OUT = pathlib.Path(__file__).with_name('compare_training.json')
NUM_TRAIN, NUM_TEST = 10_000, 5_000
RECIPE = Recipe('compare', resize=32, batch_size=128, lr=0.1, epochs=3)   # the same for every model
MAX_FLOPS_RATIO = 10


def loaders(recipe: Recipe) -> tuple:
    """A fixed random subset of the training set (shuffled each epoch) and the first test images."""
    images, labels = load_arrays('train')
    keep = onp.random.default_rng(0).permutation(len(images))[:NUM_TRAIN]
    test_images, test_labels = load_arrays('test')
    return (BatchLoader(images[keep], labels[keep], recipe.batch_size, recipe.resize, shuffle=True,
                        seed=recipe.seed),
            BatchLoader(test_images[:NUM_TEST], test_labels[:NUM_TEST], recipe.batch_size, recipe.resize))


def main() -> None:
    use_all_cores()
    npx.set_np()
    train_iter, test_iter = loaders(RECIPE)   # read once, shared
    budget = MAX_FLOPS_RATIO * costs(build('densenet'), RECIPE.resize)['GFLOPs']
    rows, skipped = [], []
    for name in compared():
        recipe = RECIPE.replace(model=name)
        cost = costs(build_model(recipe), recipe.resize)
        if cost['GFLOPs'] > budget:
            skipped.append(name)
            print(f'{name}: {cost["GFLOPs"]:.2f} GFLOPs per image, over the budget of {budget:.2f}: left out')
            continue
        history = train(build_model(recipe), train_iter, test_iter, recipe, progress=False, plot=False)
        rows.append({'name': name, 'params': cost['params'], 'flops_per_image': round(cost['GFLOPs'] * 1e9),
                     'history': history.to_dict()})
        print(name, rows[-1]['params'], [round(e.test_acc, 4) for e in history.epochs], flush=True)
    meta = {**RECIPE.to_dict(), 'train_images': NUM_TRAIN, 'test_images': NUM_TEST, 'left_out': skipped,
            'mxnet': mx.__version__, 'date': datetime.date.today().isoformat(),
            'command': 'python benchmarks/compare_training.py'}
    OUT.write_text(json.dumps({'meta': meta, 'models': rows}, indent=1) + '\n')
    print('wrote', OUT.name)


if __name__ == '__main__':
    main()
