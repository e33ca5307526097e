"""Exercises that answer back: ``check('01.2', out_channels=..., last_sees=...)`` prints one line and
returns True or False.

A right answer gets a ``✓`` and a sentence of why; a wrong one a hint that leads without giving the
answer away; a missing, misspelled or ill-typed one (a string, None, ``...``, NaN, a wrong shape) a hint
naming what is expected, never a traceback. ``EXERCISES`` maps each id (``'NN.k'``: notebook NN,
exercise k) to its question and the answers it takes. The right answers are not written here: numbers
are computed by the same code the lesson uses, choices are stored as digests, code is run against a
reference on random inputs. Questions answered in words have no check; ``show_answer(id)`` shows the
model answer, which lives in the notebook's solutions (``notebooks/solutions/``).

A new exercise is one entry of ``EXERCISES``.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from . import reference_answers as ref

SOLUTIONS = Path(__file__).resolve().parent.parent / 'notebooks' / 'solutions'
RIGHT, WRONG = '✓', '✗'


# ---- the kinds of answer -------------------------------------------------------------------------
def _is_number(value: object) -> bool:
    """A real, finite number (a Python or NumPy int or float; not a bool, a string or NaN)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


@dataclass(frozen=True)
class Whole:
    """A whole number, compared exactly with ``reference()``."""
    reference: Callable[[], int]
    hint: str
    expects: str = 'a whole number, e.g. 100'

    def problem(self, value: object) -> bool:
        return not (_is_number(value) and float(value).is_integer())

    def right(self, value: Any, key: str) -> bool:
        return int(value) == self.reference()


@dataclass(frozen=True)
class Number:
    """A number within ``rel`` (relative) of ``reference()``: read off a table or a plot, or rounded."""
    reference: Callable[[], float]
    hint: str
    rel: float = 0.02
    expects: str = 'a number, e.g. 0.5'

    def problem(self, value: object) -> bool:
        return not _is_number(value)

    def right(self, value: Any, key: str) -> bool:
        return math.isclose(float(value), self.reference(), rel_tol=self.rel)


@dataclass(frozen=True)
class Between:
    """A number ``x`` with ``low <= x < high``, the two bounds from ``bounds()``."""
    bounds: Callable[[], tuple[float, float]]
    hint: str
    expects: str = 'a number, e.g. 0.5'

    def problem(self, value: object) -> bool:
        return not _is_number(value)

    def right(self, value: Any, key: str) -> bool:
        low, high = self.bounds()
        return low <= float(value) < high


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (a string, case and spaces ignored). The right one is known by its digest only, or,
    when it comes from measured runs, computed by ``reference()``."""
    options: tuple[str, ...]
    digest: str | None
    hint: str
    reference: Callable[[], str] | None = None

    @property
    def expects(self) -> str:
        return 'one of ' + ', '.join(repr(o) for o in self.options)

    def problem(self, value: object) -> bool:
        return not (isinstance(value, str) and _normal(value) in map(_normal, self.options))

    def right(self, value: Any, key: str) -> bool:
        if self.reference is not None:
            return _normal(value) == _normal(self.reference())
        return digest(key, value) == self.digest


@dataclass(frozen=True)
class Code:
    """Code (a function, a class, a block): ``test(value)`` runs it on random inputs against a reference and
    returns None when it agrees, else what differs (a hint). ``kind(value)`` says whether it is code at all."""
    test: Callable[[Any], str | None]
    kind: Callable[[Any], bool]
    expects: str
    hint: str = ''

    def problem(self, value: object) -> bool:
        return not self.kind(value)

    def right(self, value: Any, key: str) -> bool:
        return self.test(value) is None


def _normal(text: str) -> str:
    return ' '.join(text.lower().split())


def digest(key: str, value: str) -> str:
    """The stored form of a choice: the first 12 hex digits of SHA-256 over the exercise, answer and value."""
    return hashlib.sha256(f'{key}={_normal(value)}'.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Exercise:
    """A question and the answers it takes (by name); ``why`` is shown with a right answer."""
    question: str
    why: str = ''
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def in_words(self) -> bool:
        """Answered in words only: no check, a model answer on request."""
        return not self.answers


def ask(question: str, why: str = '', **answers: Any) -> Exercise:
    """An ``Exercise``, written as one call: ``ask('How many ...?', 'Because ...', out_channels=Whole(...))``."""
    return Exercise(question, why, answers)


# ---- checking ------------------------------------------------------------------------------------
def _shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` on one short line; an object of a class by its class (``a DenseBlock``)."""
    if not isinstance(value, (numbers.Number, str, tuple, list, type)):
        return f'a {type(value).__name__}'
    text = ' '.join(repr(value).split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def _plain(value: object) -> object:
    """A one-element array (NumPy or MXNet) as the Python number it holds; anything else unchanged."""
    if hasattr(value, 'item') and getattr(value, 'size', None) == 1 and not isinstance(value, numbers.Number):
        try:
            return value.item()
        except Exception:
            return value
    return value


def _names(names: Sequence[str]) -> str:
    return ', '.join(names[:-1]) + ' and ' + names[-1] if len(names) > 1 else names[0]


def _verdict(exercise_id: str, exercise: Exercise, given: dict[str, Any]) -> tuple[bool, str]:
    """(right?, the line to print) for the answers ``given`` to ``exercise``."""
    names = list(exercise.answers)
    unknown = sorted(set(given) - set(names))
    if unknown:
        close = difflib.get_close_matches(unknown[0], names, n=1)
        guess = f' (did you mean {close[0]}?)' if close else ''
        return False, f'{exercise_id} has no answer called {unknown[0]}{guess}: it takes {_names(names)}'
    given = {name: _plain(value) for name, value in given.items()}
    problems = []
    for name, answer in exercise.answers.items():
        value = given.get(name, ...)
        if value is ... or value is None:
            problems.append(f'fill in {name} ({answer.expects})')
        elif answer.problem(value):
            problems.append(f'{name} should be {answer.expects}, got {_shown(value)}')
    if problems:
        return False, f'{exercise_id}: ' + '; '.join(problems)
    wrong = []
    for name, answer in exercise.answers.items():
        try:
            ok = answer.right(given[name], f'{exercise_id}/{name}')
        except Exception as error:  # student code that raises: say so, as a hint
            message = ' '.join(str(error).split())
            wrong.append(f'{name} raised {type(error).__name__}: {message[:80]}')
            continue
        if not ok:
            detail = answer.test(given[name]) if isinstance(answer, Code) else None
            wrong.append(f'{name}: {detail or answer.hint}')
    if wrong:
        right = [n for n in names if not any(w.startswith(n) for w in wrong)]
        prefix = f'{_names(right)} right; ' if right else ''
        return False, f'{WRONG} {exercise_id}: {prefix}' + ' '.join(wrong)
    return True, f'{RIGHT} {exercise_id}: {exercise.why}'


class Verdict(int):
    """What ``check`` returns: True (1) or False (0), which a notebook does not echo below the printed line."""

    def __repr__(self) -> str:
        return repr(bool(self))

    def _ipython_display_(self) -> None:
        pass


def check(exercise_id: str, **answers: Any) -> Verdict:
    """Check your answers to exercise ``exercise_id``: prints one line (✓ and why, or a hint); True if all right."""
    exercise = EXERCISES.get(exercise_id) if isinstance(exercise_id, str) else None
    if exercise is None:
        ok, line = False, f'there is no exercise {_shown(exercise_id)}: the ids are {", ".join(EXERCISES)}'
    elif exercise.in_words:
        ok, line = False, (f'{exercise_id} is answered in words, not checked: write yours, then '
                           f"show_answer('{exercise_id}') shows a model answer")
    else:
        ok, line = _verdict(exercise_id, exercise, answers)
    print(line)
    return Verdict(ok)


def model_answer(exercise_id: str) -> str:
    """The model answer of ``exercise_id``: the markdown cells tagged ``answer-<id>`` in its solutions notebook."""
    if exercise_id not in EXERCISES:
        raise ValueError(f'exercise_id must be one of {", ".join(EXERCISES)}, got {exercise_id!r}')
    paths = sorted(SOLUTIONS.glob(f'{exercise_id[:2]}_*_solutions.ipynb'))
    if not paths:
        raise FileNotFoundError(f'no solutions notebook for {exercise_id} in {SOLUTIONS}')
    cells = json.loads(paths[0].read_text(encoding='utf-8'))['cells']
    tag = f'answer-{exercise_id}'
    parts = [''.join(c['source']) for c in cells
             if c['cell_type'] == 'markdown' and tag in c['metadata'].get('tags', [])]
    if not parts:
        raise LookupError(f'{paths[0].name} has no cell tagged {tag}')
    return '\n\n'.join(parts)


def show_answer(exercise_id: str) -> None:
    """Show the model answer of ``exercise_id`` (rendered in a notebook, as text elsewhere)."""
    text = model_answer(exercise_id)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
        if get_ipython() is not None:
            display(Markdown(text))
            return
    except ImportError:
        pass
    print(text)


# ---- the exercises -------------------------------------------------------------------------------
# Hints that two answers of one exercise share.
_COUNT_BATCHES = 'divide the training images by the batch size, and count the last, smaller batch too.'
_COMPARE_PIXELS = 'compare the pixels of the two sizes.'

EXERCISES: dict[str, Exercise] = {
    # 01 Dense blocks
    '01.1': ask("(d2l) Design an MLP that applies the DenseNet idea: write `DenseMLPBlock(num_layers, growth)`, "
                "a block of `num_layers` dense layers of `growth` units whose forward pass concatenates each "
                "layer's input and output on the feature axis.",
                "the input passes through untouched and every layer adds its features, so the last layer reads "
                "the raw features and every learned one.",
                DenseMLPBlock=Code(ref.dense_mlp_test, ref.is_block_class, 'a class derived from nn.Block or nn.HybridBlock')),
    '01.2': ask('A dense block has 64 input channels, growth rate 32 and 6 conv blocks. How many channels does it '
                'output, and how many does its last conv block see?',
                'the block outputs c0 + L k channels; conv block l sees c0 + (l - 1) k.',
                out_channels=Whole(lambda: ref.dense_block('output channels'),
                                   'every conv block adds the growth rate to all it receives: start from 64.'),
                last_sees=Whole(lambda: ref.dense_block('sees channels'),
                                'the last conv block sees the input and the outputs of the five before it.')),
    '01.3': ask('A 3x3 convolution without padding gets an 8 x 8 input: what height and width does it output '
                '(`size`: they are equal)? '
                'Why can a dense block not concatenate that output with its input?',
                'without padding the window fits in fewer positions, and concatenation needs equal height and width.',
                size=Whole(ref.unpadded_size, 'count the positions where a 3 x 3 window fits inside 8 x 8.')),
    '01.4': ask('Count the 3x3 convolution weights of the block of exercise 2, and of a plain chain of six '
                '32-channel 3x3 convolutions after the same 64-channel input. How do the weights of a dense '
                'block grow with the number of conv blocks L?',
                'conv block l has 9 k (c0 + (l - 1) k) weights; summed over l that is quadratic in L.',
                block_weights=Whole(ref.block_weights, 'add 9 x 32 x (channels it sees) over the six conv blocks.'),
                chain_weights=Whole(ref.chain_weights, 'in the chain, each convolution sees only its predecessor.'),
                growth=Choice(('linear', 'quadratic', 'exponential'), 'dee622f60598',
                              'the l-th term grows linearly with l; what does a sum of such terms do?')),
    # 02 Transition layers
    '02.1': ask('(d2l) Why do transition layers use average pooling rather than max pooling? How many of the 16 '
                'inputs of a 4 x 4 map receive a nonzero gradient through a 2x2 max pooling of stride 2?',
                'max pooling passes on one input per window, so only those receive a nonzero gradient.',
                max_pool_inputs=Whole(lambda: ref.inputs_with_gradient('max'),
                                      'a max pooling window sends its gradient to the one input it picked.')),
    '02.2': ask("A transition's 1x1 convolution and its 2x2 average pooling can be swapped: measure the largest "
                'difference between the two orders on a random input, and say how many times fewer FLOPs '
                'the convolution needs when the pooling comes first.',
                'the convolution mixes channels (a linear map plus a bias), the pooling averages positions, which '
                'keeps constants: they commute, and pooling first leaves a quarter of the positions.',
                difference=Between(lambda: (0.0, 1e-4), 'compare pool(conv(x)) with conv(pool(x)): the largest '
                                   'absolute difference should be at the level of float32 rounding.'),
                flops_ratio=Number(ref.pool_first_saving, 'a 2x2 pooling of stride 2 keeps one position of every 2 x 2.')),
    '02.3': ask('After a dense block with 192 output channels, which compression factor theta makes the '
                'transition output exactly 64 channels (the width of the first convolution)?',
                'floor(theta x 192) = 64 for every theta from 1/3 up to (not including) 65/192.',
                theta=Between(ref.theta_bounds, 'the transition keeps floor(theta x 192) channels.')),
    '02.4': ask('What happens with theta = 0.001 after a block with 192 channels: how many channels would the '
                "paper's rule floor(theta x 192) keep? Should the code then raise an error, or build the layer?",
                'floor(0.192) = 0: a layer with no channels is meaningless, so the code should refuse it and say why.',
                channels=Whole(lambda: ref.kept_channels(0.001, 192), 'the transition keeps floor(theta x 192) channels.'),
                should=Choice(('raise an error', 'build the layer'), '69aede475d7c',
                              'would a layer with no output channels compute anything a later layer could use?')),
    # 03 The DenseNet model
    '03.1': ask("(d2l) Why has DenseNet fewer parameters than ResNet? Count the weights of one 3x3 convolution of "
                "ResNet-18's last stage (512 to 512 channels) and of a DenseNet conv block of growth rate 32 that "
                'sees 512 channels.',
                "a conv block's weights grow with the channels it outputs, and DenseNet's output only k = 32.",
                resnet_conv=Whole(lambda: ref.conv3x3_weights(512, 512), 'a 3x3 convolution has 3 x 3 x in x out weights.'),
                dense_conv=Whole(lambda: ref.conv3x3_weights(512, 32), 'a DenseNet conv block outputs only the growth rate.')),
    '03.2': ask('(d2l) Is the memory of DenseNet really high? How many MiB of activations does one 224 x 224 '
                'image produce in the lesson\'s model (one decimal), and how many times those of a 96 x 96 image?',
                'activations grow with the pixels: (224 / 96)^2 is about 5.4.',
                mib_224=Number(lambda: ref.mib_per_image(224), 'costs(densenet(), image_size=224) counts them.', rel=0.01),
                times_96=Number(lambda: ref.mib_per_image(224) / ref.mib_per_image(96),
                                'divide by the activations of a 96 x 96 image.', rel=0.02)),
    '03.3': ask("(d2l) With `densenet`, build a DenseNet with the layout of the paper's DenseNet-169 (Table 1): "
                "(6, 12, 32, 32) conv blocks and ImageNet's 1000 classes, without the paper's 1x1 bottlenecks "
                '(notebook 05 adds them). The check counts its parameters for a 3-channel 224 x 224 image.',
                'the layout changes the depth only; growth rate 32 and the halving transitions stay.',
                densenet169=Code(ref.densenet169_test, ref.is_hybrid_block, 'a network (a HybridBlock), e.g. densenet(...)')),
    '03.4': ask("The deck's model has 224,280 more parameters than the corrected one. Which is the first layer "
                'whose parameters differ? Why did the deck\'s model still train without an error?',
                'the second transition gets the intended 224 channels but outputs 160 instead of 112; '
                'Gluon infers every input size, so nothing fails.',
                first_layer=Choice(('transition 1', 'dense block 2', 'transition 2', 'dense block 3',
                                    'the final Dense layer'),
                                   'e77602d20e43', 'find the first transition whose output the deck sizes from a '
                                   'counter that was never halved.')),
    '03.5': ask('The stem\'s two stride-2 layers map a size n to ceil(n / 2) each, and each transition\'s 2x2 '
                'pooling maps n to floor(n / 2) and needs n >= 2. What is the smallest input size for a DenseNet '
                'with 3 dense blocks? With 5?',
                'the stem divides by 4 (rounding up), each of the n - 1 transitions by 2: 2^(n+1) - 3.',
                three_blocks=Whole(lambda: ref.smallest_input(3), 'work backwards: the last transition needs 2 x 2.'),
                five_blocks=Whole(lambda: ref.smallest_input(5), 'each extra transition doubles what the stem must leave.')),
    # 04 Training
    '04.1': ask('Train the CPU recipe with the learning rates 0.05, 0.2 and 0.8 (`experiment(lr=0.8)`). Does any '
                "of them diverge? How far apart do the final test accuracies of 0.05, 0.1 (the recipe's), 0.2 and "
                '0.8 end? Why can a network with batch normalization take such large steps?',
                'with batch normalization and a rate that decays to zero, even 8 times the rate trains.',
                diverged=Choice(('none', '0.05', '0.2', '0.8', 'several'), None,
                                'a diverged run stops early, and train says so.', reference=ref.diverged),
                spread=Choice(('less than 1 point', '1 to 5 points', 'more than 5 points'), None,
                              'subtract the lowest final test accuracy from the highest (a point is 0.01).',
                              reference=ref.lr_spread)),
    '04.2': ask('Train with batch size 64 and with 512 at the same learning rate (`experiment(batch_size=64)`). '
                'How many updates does an epoch take with each? How do the time per epoch and the accuracy change?',
                'an epoch is one pass over the 60,000 training images, one update per batch.',
                updates_64=Whole(lambda: ref.updates_per_epoch(64), _COUNT_BATCHES),
                updates_512=Whole(lambda: ref.updates_per_epoch(512), _COUNT_BATCHES)),
    '04.3': ask('What share of the work (forward FLOPs) of a 96 px image is an image at 48 px, and one at 64 px?',
                'the work grows with the number of pixels: (48/96)^2 and (64/96)^2.',
                at_48=Number(lambda: ref.work_of_96(48), _COMPARE_PIXELS),
                at_64=Number(lambda: ref.work_of_96(64), _COMPARE_PIXELS)),
    '04.4': ask("Train the deck's uncorrected model with the CPU recipe, seeds 0, 1 and 2 "
                "(`experiment(model='densenet-deck', seed=1)`), next to the recipe's own seeds (`experiment(seed=1)`; "
                'about 10 minutes in all on a CPU). How many times the parameters of the corrected model has it, and '
                'does the bug cost accuracy, gain accuracy, or stay within the spread of seeds?',
                "the extra width sits where the maps are small, and seeds move the result as much as the bug.",
                params_ratio=Number(ref.deck_params_ratio, 'divide the two parameter counts of notebook 03.', rel=0.01),
                accuracy=Choice(('costs accuracy', 'gains accuracy', 'within the spread of seeds'), None,
                                'compare the difference of the means with how far the seeds of each spread.',
                                reference=ref.deck_model_accuracy)),
    # 05 Beyond the deck
    '05.1': ask('From which input width c on does the bottleneck of DenseNet-B save parameters in a dense layer '
                'with growth rate k = 32 (count the batch normalizations too)?',
                'weights alone: 9ck > 4kc + 36k^2 when c > 7.2k; the batch normalizations add a little.',
                channels=Whole(ref.bottleneck_pays_from, 'compare 9ck with 4kc + 36k^2, then add the batch norms.')),
    '05.2': ask("DenseNet-BC at the deck's size (4 layers per block, k = 32) has more parameters than the lesson's "
                'DenseNet-C. Which layers cost more, and from how many layers per block on is DenseNet-BC smaller '
                'than DenseNet-C with the same layers per block?',
                'in short blocks the layers see fewer than 7.2k channels, where a 4k bottleneck costs more than it saves.',
                costly=Choice(('the 1x1 bottlenecks', 'the 3x3 convolutions', 'the transitions', 'the stem'),
                              'debe78099309', 'count the parameters of each kind of layer in both versions.'),
                layers=Whole(ref.bc_smaller_from, 'count the parameters of both for 5, 6, 7, ... layers per block.')),
    '05.3': ask('Using the quadratic fit of the hybridized curve, predict the activation memory (MiB) of a step '
                'with 48 layers per block. What share of it would a linear-memory implementation keep, if the '
                'line through the first two points of the hybridized curve (L = 1 and 2, the activations column) held?',
                'memory that grows by the same amount per layer falls far behind a quadratic at 48 layers.',
                mib=Number(lambda: ref.quadratic_fit_at(48), 'evaluate the fit at 48.', rel=0.01),
                share=Number(lambda: ref.linear_share_at(48), 'extend the line through the first two points to 48.',
                             rel=0.05)),
    '05.4': ask("Add the lesson's model with growth rate 16 to the comparison. How many parameters has it, and "
                'what share of the activations of the growth-32 model?',
                "the stem's 64 channels at 48 x 48 and 24 x 24 do not shrink with the growth rate.",
                params=Whole(lambda: int(ref.k16('params')), 'read the params column of its row.'),
                activation_share=Number(lambda: ref.k16('share'), 'divide its activations by those of densenet.',
                                        rel=0.03)),
    '05.5': ask('By the measurement, what is the largest batch whose training step at 224 x 224 fits in 8 GiB?',
                'memory grows by a fixed amount per image from the measured point.',
                batch=Whole(lambda: ref.largest_batch_224(), 'grow the measured point by the MiB per image until 8 GiB.')),
}
