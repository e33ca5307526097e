"""Training recipes: the one description of a run (model, data, optimizer), checked when it is made.

A :class:`Recipe` is what notebook 04, ``python -m d2l_extras.train`` and the benchmarks hand to
``d2l_extras.training.train`` whole; a checkpoint stores it, and resuming compares it. Two are named:
``full`` (the deck's last page) and ``cpu-quick`` (the same model that a 2-core laptop trains in about
two minutes). ``choose_recipe`` picks ``full`` on a working GPU and ``cpu-quick`` otherwise, unless the
student (or ``$DENSENET_RECIPE``) names one.

Every field carries its group and its check: adding a field is one line here (a numeric one also has its
line in ``RANGES``, the table of sane values) plus the line that uses it (the CLI gets a flag for it,
checkpoints store it, resume compares it).

    >>> recipe = get_recipe('cpu-quick').replace(epochs=2)
    >>> net, (train_iter, test_iter) = build_model(recipe), load_data(recipe)   # doctest: +SKIP
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Callable, NamedTuple

from .sizes import (MAX_BATCH, MAX_BLOCKS, MAX_CONVS, MAX_GROWTH_RATE, MAX_IMAGE_SIZE, check_bool, check_choice,
                    check_int, check_ints, check_real, min_input_size)

ENV_VAR = 'DENSENET_RECIPE'
LESSON_MODELS = ('densenet', 'densenet-deck')   # the lesson's corrected model, the deck's code as written
SCHEDULES = ('constant', 'cosine')
GROUPS = ('label', 'model', 'data', 'optimizer')
RESUMABLE = ('name', 'epochs')            # what may differ on resume (epochs may only grow)


class RecipeError(ValueError):
    """A recipe field with a value outside its range; ``field`` names it (the CLI turns it into a flag)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class Bound(NamedTuple):
    """A bound that depends on the recipe's other fields: how it is said, and how it is computed."""
    said: str
    of: Callable[['Recipe'], float]


EPOCHS = Bound('epochs', lambda r: r.epochs)
SMALLEST_INPUT = Bound('the smallest input of its dense blocks (29 for 4)',
                       lambda r: min_input_size(len(r.convs_per_block)))
MAX_EPOCHS = 1000           # the paper trains 300 epochs on CIFAR, 90 on ImageNet
MAX_LR = 10.0               # SGD's lr grows with the batch (0.1 per 256 images): 1.6 at the largest batch
MAX_WEIGHT_DECAY = 0.1      # 200 times the modern recipes' 5e-4


@dataclass(frozen=True)
class Range:
    """The sane values of a numeric recipe field: an integer or a finite number from ``low`` to ``high``."""
    low: float | Bound
    high: float | Bound
    integer: bool = False
    low_open: bool = False             # low itself is not allowed
    high_open: bool = False            # high itself is not allowed
    most: int | None = None            # a sequence of at most this many values, each in the range

    def check(self, name: str, value: object, recipe: 'Recipe') -> Any:
        """``value`` (as an int, float or tuple of ints) if it is in the range, else a ValueError naming ``name``."""
        low, high = (b.of(recipe) if isinstance(b, Bound) else b for b in (self.low, self.high))
        if self.most is not None:
            return check_ints(name, value, low, high, max_len=self.most)
        if self.integer:
            return check_int(name, value, low, high)
        return check_real(name, value, low, high, self.low_open, self.high_open)

    def describe(self) -> str:
        """The range in words, as ``--help`` and the README say it, e.g. 'a number in (0, 10]'."""
        low, high = (b.said if isinstance(b, Bound) else f'{b:,}' if self.integer else f'{b:g}'
                     for b in (self.low, self.high))
        if self.most is not None:
            return f'1 to {self.most} integers, each from {low} to {high}'
        if self.integer:
            return f'an integer from {low} to {high}'
        return f"a number in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


#: The sane range of every numeric recipe field, the one table of them: the Recipe refuses a value outside it
#: (and so the CLI, with exit code 2 and the flag's name), ``--help`` says it, the README lists it (tested).
RANGES = {
    'growth_rate': Range(1, MAX_GROWTH_RATE, integer=True),
    'convs_per_block': Range(1, MAX_CONVS, integer=True, most=MAX_BLOCKS),
    'resize': Range(SMALLEST_INPUT, MAX_IMAGE_SIZE, integer=True),
    'batch_size': Range(1, MAX_BATCH, integer=True),
    'epochs': Range(1, MAX_EPOCHS, integer=True),
    'lr': Range(0, MAX_LR, low_open=True),
    'warmup_epochs': Range(0, EPOCHS),
    'momentum': Range(0, 1, high_open=True),
    'weight_decay': Range(0, MAX_WEIGHT_DECAY),
    'label_smoothing': Range(0, 1, high_open=True),
    'seed': Range(0, 2 ** 31 - 1, integer=True),
}


def in_range(name: str, value: object, recipe: 'Recipe') -> Any:
    """The check of a numeric field: its entry of ``RANGES``."""
    return RANGES[name].check(name, value, recipe)


def knob(default: Any, group: str, check: Callable[[str, Any, 'Recipe'], Any], doc: str) -> Any:
    """A recipe field: its default (the deck's behaviour), group, check and one-line meaning."""
    return field(default=default, metadata={'group': group, 'check': check, 'doc': doc})


@dataclass(frozen=True)
class Recipe:
    """Everything that decides what a training run computes; the defaults are the deck's recipe."""
    name: str = knob('custom', 'label', lambda n, v, r: _check_name(n, v), 'a label; never compared')
    model: str = knob('densenet', 'model', lambda n, v, r: check_choice(n, v, trainable_models()),
                      "densenet: the lesson's corrected model; densenet-deck: the deck's code as written; "
                      'or another model that notebook 05 compares (d2l_extras.model_zoo)')
    growth_rate: int = knob(32, 'model', lambda n, v, r: _lesson_only(n, in_range(n, v, r), r),
                            "channels each conv block adds (the lesson's models)")
    convs_per_block: tuple = knob((4, 4, 4, 4), 'model', lambda n, v, r: _lesson_only(n, in_range(n, v, r), r),
                                  "conv blocks in each dense block, e.g. 4,4,4,4 (the lesson's models)")
    resize: int = knob(96, 'data', in_range,
                       'input height and width in pixels (at least the smallest input every dense block can process)')
    batch_size: int = knob(256, 'data', in_range, 'examples per mini-batch (limited by the memory of the devices)')
    epochs: int = knob(5, 'optimizer', in_range, 'passes over the training set')
    lr: float = knob(0.1, 'optimizer', in_range, 'learning rate (the peak, with a schedule)')
    schedule: str = knob('constant', 'optimizer', lambda n, v, r: check_choice(n, v, SCHEDULES),
                         'constant, or cosine: decay to 0 along a half cosine by the last update')
    warmup_epochs: float = knob(0.0, 'optimizer', in_range,
                                'linear warm-up from about 0 to lr first (may be fractional)')
    momentum: float = knob(0.0, 'optimizer', in_range, "SGD momentum (0: the deck's plain SGD)")
    nesterov: bool = knob(False, 'optimizer', lambda n, v, r: _check_nesterov(n, v, r),
                          "Nesterov's momentum (MXNet's optimizer 'nag'; needs momentum > 0)")
    weight_decay: float = knob(0.0, 'optimizer', in_range, 'L2 penalty on every parameter (MXNet\'s wd)')
    label_smoothing: float = knob(0.0, 'optimizer', in_range, 'share of each target spread evenly over all classes')
    seed: int = knob(0, 'optimizer', in_range, 'seed of the initialization and of the data order')

    def __post_init__(self) -> None:
        """Check every field (its own check, in order); store numbers as their field's type."""
        for f in fields(self):      # in order: later checks may read earlier, already checked fields
            try:
                value = f.metadata['check'](f.name, getattr(self, f.name), self)
            except ValueError as error:
                raise RecipeError(f.name, str(error)) from None
            object.__setattr__(self, f.name, value)

    def replace(self, **changes: Any) -> 'Recipe':
        """A copy with the given fields changed, checked again; an unknown field is a ValueError."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise ValueError(f'unknown recipe field(s) {", ".join(unknown)}: the fields are {", ".join(field_names())}')
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """The fields as JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> 'Recipe':
        """The recipe a ``to_dict`` (e.g. a checkpoint's) describes; missing fields get their defaults."""
        if not isinstance(data, dict):
            raise ValueError(f'a recipe must be a dict of its fields, got {type(data).__name__}')
        data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls().replace(**data)

    def differences(self, other: 'Recipe') -> dict[str, tuple[Any, Any]]:
        """``{field: (self's value, other's value)}`` of every field that differs."""
        return {f.name: (getattr(self, f.name), getattr(other, f.name)) for f in fields(self)
                if getattr(self, f.name) != getattr(other, f.name)}

    def describe(self) -> str:
        """One line: the model, the data and the optimizer, with every knob that is not the deck's."""
        model = f'{self.model} (growth {self.growth_rate}, convs {",".join(map(str, self.convs_per_block))})'
        schedule = 'constant' if self.schedule == 'constant' else 'cosine to 0'
        extras = [f'{f.name} {getattr(self, f.name)}' for f in fields(self) if f.name in _EXTRAS
                  and getattr(self, f.name) != f.default]
        return (f'{self.name}: {model}, {self.resize} px, batch {self.batch_size}, {self.epochs} epoch(s), '
                f'SGD lr {self.lr:g} {schedule}' + ''.join(f', {e}' for e in extras) + f', seed {self.seed}')


def trainable_models() -> tuple[str, ...]:
    """The registry's models a recipe can train: the lesson's two and every model notebook 05 compares."""
    from .model_zoo import compared
    return tuple(dict.fromkeys([*LESSON_MODELS, *compared()]))


def _lesson_only(name: str, value: Any, recipe: 'Recipe') -> Any:
    """Return ``value``; a growth rate or layout other than the default needs one of the lesson's models."""
    default = {f.name: f.default for f in fields(Recipe)}[name]
    if recipe.model not in LESSON_MODELS and value != default:
        raise ValueError(f'{name} applies to the lesson\'s models ({", ".join(LESSON_MODELS)}) only; '
                         f'{recipe.model} has its own, got {name}={value!r}')
    return value


def _check_name(name: str, value: object) -> str:
    """Return ``value`` if it is a non-empty string, else raise a ValueError."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'{name} must be a non-empty string, got {value!r}')
    return value


def _check_nesterov(name: str, value: object, recipe: Recipe) -> bool:
    """Return ``value`` if it is a bool, and True only with some momentum, else raise a ValueError."""
    check_bool(name, value)
    if value and recipe.momentum == 0:
        raise ValueError(f'{name}=True needs momentum > 0 (Nesterov is a kind of momentum), got momentum 0')
    return value


def field_names(group: str | None = None) -> list[str]:
    """The recipe's fields, in order; only those of ``group`` ('label', 'model', 'data', 'optimizer')."""
    return [f.name for f in fields(Recipe) if group is None or f.metadata['group'] == group]


#: The optimizer knobs that ``Recipe.describe`` shows only when they differ from the deck's.
_EXTRAS = tuple(name for name in field_names('optimizer') if name not in ('epochs', 'lr', 'schedule', 'seed'))


#: The optimizer of the modern recipes: Nesterov momentum, a short warm-up then a cosine decay to 0,
#: weight decay and label smoothing (benchmarks/recipe_search.py chose it among a handful).
MODERN = dict(schedule='cosine', momentum=0.9, nesterov=True, weight_decay=5e-4, label_smoothing=0.1)

RECIPES = {
    # The deck's last page: 96 px, batch 256, constant lr 0.1, plain SGD, 5 epochs, the corrected model.
    'full': Recipe('full'),
    # The same model, size, batch and epochs with the modern optimizer.
    'full-modern': Recipe('full-modern', warmup_epochs=0.5, **MODERN),
    # What a 2-core laptop trains in minutes: 32 px (a ninth of the work per image of 96 px), 2 epochs.
    'cpu-quick': Recipe('cpu-quick', resize=32, batch_size=128, epochs=2, warmup_epochs=0.2, **MODERN),
    # For a student who can leave it running.
    'cpu-long': Recipe('cpu-long', resize=48, batch_size=128, epochs=8, warmup_epochs=0.5, **MODERN),
}


@dataclass(frozen=True)
class Measured:
    """What a named recipe gave when it was run (``benchmarks/RESULTS.md`` has the dates and commands)."""
    test_acc: float                  # final test accuracy, the mean over the seeds
    seeds: int                       # how many seeds that mean is over
    cpu_sec_per_epoch: float         # training and test of one epoch on 2 CPU cores, the median
    gpu_sec_per_epoch: float | None  # only the deck's own GPU time is known
    source: str                      # the file in benchmarks/ that holds the runs
    timing: str                      # the file in benchmarks/ whose epochs give the seconds


#: What the named recipes gave when run; tests/test_recipes.py recomputes every number from benchmarks/.
MEASURED = {
    'full': Measured(test_acc=0.8765, seeds=1, cpu_sec_per_epoch=239.0,
            gpu_sec_per_epoch=13.2, source='full_cpu.json', timing='full_cpu.json'),
    'full-modern': Measured(test_acc=0.9367, seeds=3, cpu_sec_per_epoch=267.3,
                   gpu_sec_per_epoch=None, source='full_modern_cpu.json', timing='full_modern_cpu.json'),
    'cpu-quick': Measured(test_acc=0.9061, seeds=3, cpu_sec_per_epoch=29.4,
                 gpu_sec_per_epoch=None, source='recipe_search.json', timing='time_to_accuracy.json'),
    'cpu-long': Measured(test_acc=0.9324, seeds=3, cpu_sec_per_epoch=58.6,
                gpu_sec_per_epoch=None, source='recipe_search.json', timing='recipe_search.json'),
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name`` (a key of ``RECIPES``)."""
    return RECIPES[check_choice('recipe', name, RECIPES)]


def choose_recipe(on_gpu: bool, name: str | None = None) -> Recipe:
    """``name`` if given, else ``$DENSENET_RECIPE`` if set, else ``full`` on a GPU and ``cpu-quick`` on a CPU."""
    if name is None and os.environ.get(ENV_VAR):
        value = os.environ[ENV_VAR]
        if value not in RECIPES:
            raise ValueError(f'${ENV_VAR} must be one of {", ".join(map(repr, RECIPES))}, got {value!r}: '
                             f'fix it or unset it')
        name = value
    return get_recipe(name or ('full' if on_gpu else 'cpu-quick'))


def expected_minutes(recipe: Recipe, on_gpu: bool) -> float | None:
    """Rough wall time of a named recipe (any epochs and seed) in minutes, where it was measured; else None."""
    named, measured = RECIPES.get(recipe.name), MEASURED.get(recipe.name)
    if named is None or measured is None or named.replace(epochs=recipe.epochs, seed=recipe.seed) != recipe:
        return None
    seconds = measured.gpu_sec_per_epoch if on_gpu else measured.cpu_sec_per_epoch
    return None if seconds is None else recipe.epochs * seconds / 60


def recipe_table():
    """The named recipes side by side: size, optimizer, and the test accuracy and minutes they gave."""
    import pandas as pd
    rows = {}
    for name, r in RECIPES.items():
        optimizer = (f'SGD {r.lr:g}' if not r.momentum else f"{'Nesterov' if r.nesterov else 'momentum'} {r.lr:g}")
        optimizer += ', cosine' if r.schedule == 'cosine' else ', constant'
        measured = MEASURED.get(name)
        rows[name] = {'px': r.resize, 'batch': r.batch_size, 'epochs': r.epochs, 'optimizer': optimizer,
                      'label smoothing': r.label_smoothing,
                      'test acc': measured and round(measured.test_acc, 3),
                      'CPU minutes': measured and round(r.epochs * measured.cpu_sec_per_epoch / 60, 1)}
    return pd.DataFrame(rows).T


def build_model(recipe: Recipe):
    """The network a recipe describes (uninitialized), from the registry ``d2l_extras.model_zoo.MODELS``:
    the lesson's ``densenet`` (corrected, or as the deck wrote it) with the recipe's size, or a compared model."""
    from .model_zoo import build
    if recipe.model in LESSON_MODELS:
        return build(recipe.model, growth_rate=recipe.growth_rate, convs_per_block=recipe.convs_per_block)
    return build(recipe.model)


def load_data(recipe: Recipe, root: Path | str | None = None):
    """Fashion-MNIST's training (shuffled with the recipe's seed) and test loaders at the recipe's size."""
    from .data import load_data_fashion_mnist
    return load_data_fashion_mnist(recipe.batch_size, resize=recipe.resize, root=root, seed=recipe.seed)


def stored_runs(name: str) -> list[list[dict]]:
    """The per-epoch records (``test_acc``, ``time``, ...) of every stored run of the named recipe, one list
    per seed, from the file in ``benchmarks/`` that ``MEASURED[name].source`` names."""
    from .measured import load
    measured = MEASURED[check_choice('name', name, MEASURED)]
    data, recipe = load(Path(measured.source).stem), RECIPES[name]

    def same(stored: dict) -> bool:
        return set(Recipe.from_dict(stored).differences(recipe)) <= {'name', 'seed'}
    if isinstance(data, list):      # recipe_search.json: one entry per candidate and seed
        return [entry['history']['epochs'] for entry in data if same(entry['recipe'])]
    if not same(data['recipe']):
        raise ValueError(f'{measured.source} holds another recipe than {name}')
    return [run['epochs'] for run in data['runs']]
