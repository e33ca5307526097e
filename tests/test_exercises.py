"""Exercises answer back: right answers get a ✓ and why, wrong ones a hint that does not give the answer away,
missing, misspelled and ill-typed ones a hint naming what is expected, and nothing ever raises."""
import math
import re
from pathlib import Path

import numpy as onp
import pytest
from mxnet import np, npx
from mxnet.gluon import nn

from d2l_extras import exercises, reference_answers
from d2l_extras.densenet import DenseBlock, densenet
from d2l_extras.exercises import EXERCISES, Code, Verdict, check, model_answer

npx.set_np()


class DenseMLPBlock(nn.HybridBlock):
    def __init__(self, num_layers, growth, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.HybridSequential()
        for _ in range(num_layers):
            self.net.add(nn.Dense(growth, activation='relu'))

    def hybrid_forward(self, F, X):
        for layer in self.net:
            X = F.np.concatenate((X, layer(X)), axis=1)
        return X


class AddingMLPBlock(DenseMLPBlock):          # adds instead of concatenating: the ResNet idea
    def hybrid_forward(self, F, X):
        for layer in self.net:
            X = X + layer(X)[:, :1]
        return X


class BrokenMLPBlock(DenseMLPBlock):
    def hybrid_forward(self, F, X):
        raise RuntimeError('not written yet')


#: The right answers, worked out by hand (the module computes its own; these are what a student would enter).
RIGHT = {
    '01.1': {'DenseMLPBlock': DenseMLPBlock},
    '01.2': {'out_channels': 256, 'last_sees': 224},
    '01.3': {'size': 6},
    '01.4': {'block_weights': 248_832, 'chain_weights': 64_512, 'growth': 'quadratic'},
    '02.1': {'max_pool_inputs': 4},
    '02.2': {'difference': 2e-7, 'flops_ratio': 4},
    '02.3': {'theta': 1 / 3},
    '02.4': {'channels': 0, 'should': 'raise an error'},
    '03.1': {'resnet_conv': 2_359_296, 'dense_conv': 147_456},
    '03.2': {'mib_224': 45.4, 'times_96': 5.44},
    '03.3': {'densenet169': densenet(32, (6, 12, 32, 32), num_classes=1000)},
    '03.4': {'first_layer': 'transition 2'},
    '03.5': {'three_blocks': 13, 'five_blocks': 61},
    '04.1': {'diverged': 'none', 'spread': 'less than 1 point'},
    '04.2': {'updates_64': 938, 'updates_512': 118},
    '04.3': {'at_48': 0.248, 'at_64': 0.444},
    '04.4': {'params_ratio': 1.296, 'accuracy': 'within the spread of seeds'},
    '05.1': {'channels': 233},
    '05.2': {'costly': 'the 1x1 bottlenecks', 'layers': 7},
    '05.3': {'mib': 10_482, 'share': 0.18},
    '05.4': {'params': 236_234, 'activation_share': 0.75},
    '05.5': {'batch': 186},
}
#: A well-formed wrong value for every answer.
WRONG = {'DenseMLPBlock': AddingMLPBlock, 'growth': 'linear', 'should': 'build the layer', 'first_layer': 'transition 1',
         'costly': 'the stem', 'spread': 'more than 5 points', 'diverged': 'several', 'accuracy': 'gains accuracy',
         'densenet169': densenet(32, (6, 12, 24, 16), num_classes=1000), 'difference': 0.5, 'theta': 0.5}


def line(capsys) -> str:
    out = capsys.readouterr().out
    assert out.count('\n') == 1, f'check must print exactly one line, printed {out!r}'
    return out.strip()


def wrong_value(ex, name, right):
    if name in WRONG:
        return WRONG[name]
    return right + 1 if isinstance(EXERCISES[ex].answers[name], exercises.Whole) else right * 1.5 + 0.5


def shown(value) -> set[str]:
    """How a right number could appear in a hint: as typed, with separators, rounded."""
    if not isinstance(value, (int, float)) or abs(value) < 10:
        return set()
    return {f'{value:,}', f'{value}', f'{round(value):,}', f'{round(value)}'}


def test_every_exercise_of_the_lessons_is_in_the_table_and_tested_here():
    assert set(RIGHT) == set(EXERCISES)
    assert all(set(RIGHT[ex]) == set(EXERCISES[ex].answers) for ex in EXERCISES)


@pytest.mark.parametrize('ex', sorted(EXERCISES))
def test_right_answers_get_a_tick_and_a_reason(ex, capsys):
    verdict = check(ex, **RIGHT[ex])
    said = line(capsys)
    assert verdict == True and isinstance(verdict, Verdict), said   # noqa: E712 (a Verdict is an int)
    assert said.startswith(f'✓ {ex}: ') and len(said) > len(f'✓ {ex}: ') + 10


@pytest.mark.parametrize('ex', sorted(EXERCISES))
def test_each_wrong_answer_gets_a_hint_that_does_not_give_it_away(ex, capsys):
    for name, right in RIGHT[ex].items():
        answers = {**RIGHT[ex], name: wrong_value(ex, name, right)}
        verdict = check(ex, **answers)
        said = line(capsys)
        assert verdict == False, f'{ex}: {name}={answers[name]!r} was accepted'   # noqa: E712
        assert said.startswith(f'✗ {ex}:') and name in said, said
        for text in shown(right):
            assert not re.search(rf'(?<![\d,.]){re.escape(text)}(?![\d,])', said), f'{ex}: the hint gives {text}: {said}'


@pytest.mark.parametrize('ex', sorted(EXERCISES))
@pytest.mark.parametrize('bad', [None, ..., 'abc', float('nan'), math.inf, True, [1, 2], (3,), {'a': 1}, object()],
                         ids=lambda v: type(v).__name__ + ('-nan' if v != v else ''))
def test_malformed_answers_get_a_hint_naming_what_is_expected_never_a_traceback(ex, bad, capsys):
    name = next(iter(RIGHT[ex]))
    verdict = check(ex, **{**RIGHT[ex], name: bad})
    said = line(capsys)
    assert verdict == False and name in said, said   # noqa: E712
    assert 'Traceback' not in said
    if bad is None or bad is ...:
        assert f'fill in {name} (' in said
    else:
        assert f'{name} should be ' in said, said


def test_missing_misspelled_and_unknown_names_are_named(capsys):
    assert not check('01.2', out_channels=256)
    assert line(capsys) == '01.2: fill in last_sees (a whole number, e.g. 100)'
    assert not check('01.2', out_chanels=256, last_sees=224)
    assert 'no answer called out_chanels (did you mean out_channels?)' in line(capsys)
    assert not check('01.2')
    assert 'fill in out_channels' in line(capsys)
    assert not check('09.9', x=1)
    assert line(capsys).startswith("there is no exercise '09.9': the ids are 01.1, ")
    assert not check(12)
    assert 'there is no exercise 12' in line(capsys)


def test_numbers_come_as_python_numpy_or_mxnet_scalars(capsys):
    assert check('01.2', out_channels=onp.int64(256), last_sees=np.array(224))
    assert check('03.2', mib_224=onp.float32(45.43), times_96=np.array([5.44])[0])
    assert check('01.2', out_channels=256.0, last_sees=224)
    assert not check('01.2', out_channels=256.5, last_sees=224)
    capsys.readouterr()


def test_choices_ignore_case_and_spaces_but_not_typos(capsys):
    assert check('01.4', block_weights=248_832, chain_weights=64_512, growth='  Quadratic ')
    assert not check('01.4', block_weights=248_832, chain_weights=64_512, growth='quadratc')
    assert "growth should be one of 'linear', 'quadratic', 'exponential', got 'quadratc'" in capsys.readouterr().out


def test_code_answers_run_against_a_reference_and_their_errors_become_hints(capsys):
    assert not check('01.1', DenseMLPBlock=BrokenMLPBlock)
    assert 'raised RuntimeError: not written yet' in line(capsys)
    assert not check('01.1', DenseMLPBlock=DenseMLPBlock(3, 16))
    assert 'DenseMLPBlock should be a class derived from nn.Block' in line(capsys)
    assert not check('01.1', DenseMLPBlock=AddingMLPBlock)
    assert 'each layer should add `growth` features' in line(capsys)
    assert not check('03.3', densenet169=DenseBlock(2, 10))
    assert 'your net has' in line(capsys)


def test_a_verdict_is_true_or_false_and_is_not_echoed_below_the_line(capsys):
    right, wrong = check('03.5', three_blocks=13, five_blocks=61), check('03.5', three_blocks=1, five_blocks=1)
    capsys.readouterr()
    assert right == True and wrong == False and bool(right) and not wrong   # noqa: E712
    assert repr(right) == 'True' and right._ipython_display_() is None


def test_no_right_answer_is_written_in_the_module():
    """A student reading exercises.py or reference_answers.py finds no right answer at a glance: references are computed, not constants,
    no large right number stands in the source, and choices are known by digest or computed from stored runs."""
    text = Path(exercises.__file__).read_text() + Path(reference_answers.__file__).read_text()
    for ex, answers in RIGHT.items():
        for name, value in answers.items():
            answer = EXERCISES[ex].answers[name]
            reference = getattr(answer, 'reference', None) or getattr(answer, 'bounds', None)
            if reference is not None and isinstance(value, (int, float)):
                assert value not in reference.__code__.co_consts, f'{ex}: {name} is a constant in its reference'
            if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 1000:
                for form in (f'{value:,}', f'{value:_}', str(value)):
                    assert not re.search(rf'(?<![\w.,-]){re.escape(form)}(?![\w,])', text), \
                        f'exercises.py holds the answer of {ex} ({name} = {form})'
            if isinstance(answer, exercises.Choice):
                assert answer.digest is not None or answer.reference is not None


@pytest.mark.parametrize('ex', sorted(EXERCISES))
def test_every_exercise_has_a_model_answer_in_its_solutions_notebook(ex):
    assert len(model_answer(ex).split()) > 10


def test_model_answers_only_for_known_exercises():
    with pytest.raises(ValueError, match="exercise_id must be one of 01.1"):
        model_answer('9.9')


def test_code_answers_say_what_code_they_expect():
    for ex, e in EXERCISES.items():
        for name, answer in e.answers.items():
            if isinstance(answer, Code):
                assert answer.expects and not answer.kind(42), (ex, name)
