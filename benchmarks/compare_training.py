"""Equal-budget CPU training on Fashion-MNIST: the deck's DenseNet, a DenseNet-BC and ResNet-18s.

Every model gets the same budget: 32 px and batch 128 (as in the ``cpu-quick`` profile) with the deck's
constant SGD learning rate 0.1 (0.2 made test accuracy swing by 20 points between epochs on this small
budget), 3 epochs on a fixed random 10,000 of the 60,000 training images, tested on the first 5,000 test images,
with the same seed and the same data order, trained by ``d2l_extras.training.train``. Writes
``benchmarks/compare_training.json``, which notebook 05 reads. About 13 minutes on 2 idle CPU cores (times
are recorded but depend on what else runs; the accuracies do not).

    .venv/bin/python benchmarks/compare_training.py
"""
import datetime
import json
import pathlib
import random

import mxnet as mx
import numpy as onp
from mxnet import npx

from d2l_extras import model_zoo, summary
from d2l_extras.data import BatchLoader, load_arrays
from d2l_extras.training import train

OUT = pathlib.Path(__file__).with_name('compare_training.json')
NUM_TRAIN, NUM_TEST = 10_000, 5_000
RECIPE = {'resize': 32, 'batch_size': 128, 'lr': 0.1, 'epochs': 3}   # the same for every model
MODELS = {   # name -> builder of a 10-class net for 1-channel images
    'deck DenseNet': model_zoo.deck_densenet,
    'DenseNet-BC (k=12)': model_zoo.densenet_bc,
    'ResNet-18': lambda: model_zoo.resnet(),
    'ResNet-18, 1/4 width': lambda: model_zoo.resnet(widths=(16, 32, 64, 128)),
}


def loaders(resize: int, batch_size: int) -> tuple:
    """A fixed random subset of the training set (shuffled each epoch) and the first test images."""
    images, labels = load_arrays('train')
    keep = onp.random.default_rng(0).permutation(len(images))[:NUM_TRAIN]
    test_images, test_labels = load_arrays('test')
    return (BatchLoader(images[keep], labels[keep], batch_size, resize, shuffle=True),
            BatchLoader(test_images[:NUM_TEST], test_labels[:NUM_TEST], batch_size, resize))


def run(name: str, train_iter, test_iter, resize: int, lr: float, epochs: int) -> dict:
    """Train one model from the same seed (``train`` replays the same data order) and return its numbers."""
    mx.random.seed(0)
    onp.random.seed(0)
    random.seed(0)
    net = MODELS[name]()
    history = train(net, train_iter, test_iter, num_epochs=epochs, lr=lr,
                    progress=False, plot=False)
    table = summary.layer_table(net, (1, 1, resize, resize))
    total = summary.totals(table)
    return {'name': name, 'params': total['params'], 'flops_per_image': total['FLOPs'],
            'history': history.to_dict()}


def main() -> None:
    npx.set_np()
    train_iter, test_iter = loaders(RECIPE['resize'], RECIPE['batch_size'])   # read once, shared
    rows = []
    for name in MODELS:
        rows.append(run(name, train_iter, test_iter, RECIPE['resize'], RECIPE['lr'], RECIPE['epochs']))
        last = rows[-1]['history']
        print(name, rows[-1]['params'], last, flush=True)
    meta = {**RECIPE, 'train_images': NUM_TRAIN, 'test_images': NUM_TEST, 'mxnet': mx.__version__,
            'date': datetime.date.today().isoformat(), 'command': 'python benchmarks/compare_training.py'}
    OUT.write_text(json.dumps({'meta': meta, 'models': rows}, indent=1) + '\n')
    print('wrote', OUT.name)


if __name__ == '__main__':
    main()
