"""Accuracy, predictions, confusion matrix and mistakes on inputs whose answers are known by construction."""
import matplotlib
import mxnet as mx
import numpy as onp
import pytest
from mxnet import npx

from d2l_extras.data import BatchLoader, text_labels
from d2l_extras.evaluation import (confusion_matrix, evaluate_accuracy, most_confident_mistakes, most_confused,
                                   plot_confusion_matrix, predict, show_predictions)

matplotlib.use('Agg')


def oracle(X):
    """A 'network' that predicts the class written into each image's first pixel."""
    return npx.one_hot((X[:, 0, 0, 0] * 255).round().astype('int32'), 10)


def encoded(labels, written):
    images = onp.zeros((len(labels), 4, 4), dtype=onp.uint8)
    images[:, 0, 0] = written
    return BatchLoader(images, onp.asarray(labels, dtype=onp.int32), batch_size=7)


@pytest.mark.parametrize('devices', [None, [mx.cpu(0), mx.cpu(1)]])
def test_accuracy_counts_the_hits_over_all_batches_and_devices(devices):
    labels = onp.arange(30) % 10
    written = labels.copy()
    written[[0, 5, 17]] = (written[[0, 5, 17]] + 1) % 10       # three wrong answers
    assert evaluate_accuracy(oracle, encoded(labels, written), devices) == pytest.approx(27 / 30)


def test_predict_returns_labels_and_probabilities():
    labels = onp.arange(20) % 10
    got_labels, probs = predict(oracle, encoded(labels, labels[::-1]))
    onp.testing.assert_array_equal(got_labels, labels)
    onp.testing.assert_array_equal(probs.argmax(axis=1), labels[::-1])
    onp.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)


def test_confusion_matrix_counts_true_against_predicted():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], num_classes=3)
    onp.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


@pytest.mark.parametrize('args, message', [
    (([0, 1], [0]), 'labels and predictions differ in shape'),
    (([0, 3], [0, 1], 3), r'labels must lie in 0-2'),
    (([0, 1], [0, -1], 3), r'predictions must lie in 0-2'),
    (([0], [0], 0), 'num_classes must be an integer from 1 to'),
])
def test_confusion_matrix_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(*args)


def test_most_confident_mistakes_come_first():
    labels = onp.array([0, 1, 2, 0])
    probs = onp.array([[0.9, 0.1, 0.0],     # right
                       [0.6, 0.4, 0.0],     # wrong, 0.6
                       [0.05, 0.9, 0.05],   # wrong, 0.9
                       [0.2, 0.0, 0.8]])    # wrong, 0.8
    onp.testing.assert_array_equal(most_confident_mistakes(labels, probs, k=2), [2, 3])
    onp.testing.assert_array_equal(most_confident_mistakes(labels, probs, k=10), [2, 3, 1])
    with pytest.raises(ValueError, match='k must be a positive integer'):
        most_confident_mistakes(labels, probs, k=0)


def test_plots_show_counts_and_wrong_predictions_in_red():
    cm = onp.diag(onp.arange(1, 11))
    fig = plot_confusion_matrix(cm)
    assert len(fig.axes[0].texts) == 100 and fig.axes[0].get_xlabel() == 'predicted'
    with pytest.raises(ValueError, match='cm must be square'):
        plot_confusion_matrix(onp.zeros((3, 3)))
    images = onp.zeros((3, 28, 28), dtype=onp.uint8)
    probs = onp.eye(10)[[0, 5, 9]]
    fig = show_predictions(images, [0, 1, 9], probs, ncols=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ['t-shirt\n(pred: t-shirt)', 'trouser\n(pred: sandal)', 'ankle boot\n(pred: ankle boot)']
    assert fig.axes[1].title.get_color() == 'crimson'


@pytest.mark.parametrize('devices, message', [([], 'devices must name at least one device'),
                                              ('tpu', "unknown device 'tpu'"),
                                              ('cpu:0,0', r'devices lists cpu\(0\) 2 times')])
def test_bad_devices_are_named(devices, message):
    with pytest.raises(ValueError, match=message):
        evaluate_accuracy(oracle, encoded([0, 1], [0, 1]), devices)


def test_accuracy_runs_where_the_net_is_by_default():
    from mxnet.gluon import nn
    net = nn.Dense(10, in_units=16)
    net.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    seen = []
    real = net.forward

    def forward(X):
        seen.append(X.ctx)
        return real(X.reshape(X.shape[0], -1))
    net.forward = forward
    evaluate_accuracy(net, encoded(onp.arange(14) % 10, onp.arange(14) % 10))
    assert set(seen) == {mx.cpu(0), mx.cpu(1)}
    labels, probs = predict(net, encoded([1, 2], [1, 2]), device='cpu:1')
    assert seen[-1] == mx.cpu(1) and probs.shape == (2, 10)


@pytest.mark.parametrize('call, message', [
    (lambda: confusion_matrix([0.9], [1.2]), 'labels must be class numbers'),
    (lambda: confusion_matrix([1], [10]), 'predictions must lie in 0-9'),
    (lambda: confusion_matrix([True], [1]), 'labels must be class numbers'),
    (lambda: most_confident_mistakes([3], onp.full((5, 10), 0.1)), 'one row per example'),
    (lambda: most_confident_mistakes([3], onp.full(10, 0.1)), r'probs must be \(examples, classes\)'),
    (lambda: most_confident_mistakes([12], onp.full((1, 10), 0.1)), 'labels must lie in 0-9'),
    (lambda: text_labels([-1]), 'labels must lie in 0-9'),
    (lambda: text_labels([2.5]), 'labels must be class numbers'),
])
def test_labels_are_class_numbers_in_range(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_most_confused_lists_the_largest_off_diagonal_counts():
    cm = onp.diag(onp.full(10, 50))
    cm[6, 0], cm[2, 4], cm[0, 6] = 30, 12, 7
    table = most_confused(cm, k=2)
    assert table.values.tolist() == [['shirt', 't-shirt', 30], ['pullover', 'coat', 12]]
    assert text_labels([0, 9.0]) == ['t-shirt', 'ankle boot']
