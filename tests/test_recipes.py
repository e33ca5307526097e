"""Recipes: the named ones are what they claim, every field is checked, and a recipe builds its net and data."""
import json
import math
import re
import statistics
from dataclasses import fields
from pathlib import Path

import numpy as onp
import pytest

from d2l_extras import recipes
from d2l_extras.recipes import RECIPES, Recipe, RecipeError, build_model, choose_recipe, get_recipe, load_data
from d2l_extras.runs import parameter_shapes
from d2l_extras.sizes import min_input_size
from d2l_extras.summary import costs


def test_full_is_the_decks_recipe_and_cpu_quick_the_short_one():
    full = get_recipe('full')
    assert (full.model, full.resize, full.batch_size, full.lr, full.schedule, full.epochs) == \
        ('densenet', 96, 256, 0.1, 'constant', 5)
    assert (full.momentum, full.nesterov, full.weight_decay, full.label_smoothing, full.warmup_epochs) == \
        (0.0, False, 0.0, 0.0, 0.0)                          # plain SGD, as the deck
    quick = get_recipe('cpu-quick')
    assert (quick.resize, quick.batch_size, quick.lr, quick.schedule, quick.epochs) == (32, 128, 0.1, 'cosine', 2)
    assert set(quick.differences(full)) == {'name', 'resize', 'batch_size', 'epochs', 'warmup_epochs',
                                            *recipes.MODERN}
    modern = get_recipe('full-modern')
    assert set(modern.differences(full)) == {'name', 'warmup_epochs', *recipes.MODERN}   # same model, size, epochs


@pytest.mark.parametrize('changes, message', [
    ({'epochs': -1}, 'epochs must be an integer from 1 to 1,000, got -1'),
    ({'epochs': True}, 'epochs must be an integer from 1 to 1,000, got True'),
    ({'epochs': 10 ** 9}, 'epochs must be an integer from 1 to 1,000, got 1000000000'),
    ({'batch_size': True}, 'batch_size must be an integer from 1 to 4,096, got True'),
    ({'batch_size': 10 ** 9}, 'batch_size must be an integer from 1 to 4,096, got 1000000000'),
    ({'resize': True}, 'resize must be an integer from 29 to 1,024, got True'),
    ({'resize': 10}, 'resize must be an integer from 29 to 1,024, got 10'),
    ({'resize': 1_000_000}, 'resize must be an integer from 29 to 1,024, got 1000000'),
    ({'lr': True}, r'lr must be a finite number in \(0, 10\], got True'),
    ({'lr': '0.1'}, r"lr must be a finite number in \(0, 10\], got '0.1'"),
    ({'lr': math.inf}, r'lr must be a finite number in \(0, 10\], got inf'),
    ({'lr': 0}, r'lr must be a finite number in \(0, 10\], got 0'),
    ({'lr': 1e9}, r'lr must be a finite number in \(0, 10\], got 1000000000.0'),
    ({'schedule': 'step'}, "schedule must be one of 'constant', 'cosine', got 'step'"),
    ({'warmup_epochs': 6}, r'warmup_epochs must be a finite number in \[0, 5\], got 6'),
    ({'momentum': 1.0}, r'momentum must be a finite number in \[0, 1\), got 1.0'),
    ({'nesterov': 1}, 'nesterov must be True or False, got 1'),
    ({'nesterov': True}, 'nesterov=True needs momentum > 0'),
    ({'weight_decay': -1e-4}, r'weight_decay must be a finite number in \[0, 0.1\], got -0.0001'),
    ({'weight_decay': 1e9}, r'weight_decay must be a finite number in \[0, 0.1\], got 1000000000.0'),
    ({'label_smoothing': 1}, r'label_smoothing must be a finite number in \[0, 1\), got 1'),
    ({'seed': -1}, 'seed must be an integer from 0 to'),
    ({'model': 'deck'}, "model must be one of 'densenet', 'densenet-deck', 'densenet-bc', .*, got 'deck'"),
    ({'model': 'resnet18', 'growth_rate': 16}, r"growth_rate applies to the lesson's models \(densenet, densenet-deck\) only"),
    ({'growth_rate': 0}, 'growth_rate must be an integer from 1 to'),
    ({'convs_per_block': ()}, 'convs_per_block must be a non-empty sequence'),
    ({'name': ''}, 'name must be a non-empty string'),
    ({'colour': 'red'}, 'unknown recipe field'),
])
def test_every_field_is_checked_with_its_name_value_and_range(changes, message):
    with pytest.raises(ValueError, match=message):
        get_recipe('full').replace(**changes)


def numeric_fields() -> set[str]:
    """The recipe's fields whose values are numbers (or a sequence of them), by their defaults' types."""
    return {f.name for f in fields(Recipe) if isinstance(f.default, (int, float, tuple)) and
            not isinstance(f.default, bool)}


def test_every_numeric_field_has_its_range_in_the_one_table():
    assert set(recipes.RANGES) == numeric_fields()


def edges(name: str, base: Recipe) -> tuple[list, list]:
    """Values of field ``name`` at the ends of its range (allowed) and just outside (refused), for ``base``."""
    bound = recipes.RANGES[name]
    low, high = (b.of(base) if isinstance(b, recipes.Bound) else b for b in (bound.low, bound.high))
    if bound.most is not None:
        return [(low,), (high,) * 4, (low,) * bound.most], [(low - 1,), (high + 1,), (low,) * (bound.most + 1)]
    step = 1 if bound.integer else 1e-6 * max(1, abs(high))
    allowed = ([] if bound.low_open else [low]) + ([] if bound.high_open else [high])
    refused = [low if bound.low_open else low - step, high if bound.high_open else high + step]
    return allowed, refused


@pytest.mark.parametrize('name', sorted(recipes.RANGES))
def test_a_recipe_takes_the_ends_of_each_range_and_refuses_what_is_outside(name):
    base = Recipe(resize=recipes.MAX_IMAGE_SIZE) if name == 'convs_per_block' else Recipe()   # 8 blocks need 509 px
    allowed, refused = edges(name, base)
    for value in allowed:
        assert getattr(base.replace(**{name: value}), name) == value
    for value in refused:
        with pytest.raises(RecipeError, match=f'^{name}(\\[\\d\\])? must be ') as info:
            base.replace(**{name: value})
        assert info.value.field == name


def test_the_readme_lists_every_range_as_the_table_says_it():
    readme = (Path(__file__).resolve().parents[1] / 'README.md').read_text()
    rows = re.findall(r'^\| `(\w+)` \| `(--[\w-]+)` \| (.+?) \|$', readme, flags=re.M)
    assert {name: (flag, said) for name, flag, said in rows} == \
        {name: ('--' + name.replace('_', '-'), r.describe()) for name, r in recipes.RANGES.items()}


def test_numpy_numbers_are_taken_and_stored_as_python_numbers():
    recipe = Recipe(growth_rate=onp.int64(32), convs_per_block=(onp.int32(2),) * 4, epochs=onp.int16(3),
                    lr=onp.float32(0.25), momentum=onp.float64(0.9))
    assert (recipe.growth_rate, recipe.convs_per_block, recipe.epochs, recipe.lr, recipe.momentum) == \
        (32, (2, 2, 2, 2), 3, 0.25, 0.9)
    assert all(type(v) in (int, float, str, bool, list) for v in recipe.to_dict().values())
    json.dumps(recipe.to_dict())


def test_the_smallest_resize_follows_the_number_of_dense_blocks():
    assert Recipe(convs_per_block=(4, 4), resize=min_input_size(2)).resize == min_input_size(2)
    with pytest.raises(RecipeError, match=f'from {min_input_size(2)} to') as info:
        Recipe(convs_per_block=(4, 4), resize=min_input_size(2) - 1)
    assert info.value.field == 'resize'


def test_numbers_are_stored_as_their_field_type_and_round_trip_through_json():
    recipe = Recipe(lr=1, convs_per_block=[2, 2], momentum=0.9, nesterov=True, warmup_epochs=0.5)
    assert isinstance(recipe.lr, float) and recipe.convs_per_block == (2, 2)
    assert Recipe.from_dict(recipe.to_dict()) == recipe
    assert Recipe.from_dict({'name': 'old', 'lr': 0.3}) == Recipe('old', lr=0.3)   # a field added later: default


def test_every_field_has_a_group_a_check_and_a_meaning():
    for f in fields(Recipe):
        assert f.metadata['group'] in recipes.GROUPS and callable(f.metadata['check']) and f.metadata['doc']
    assert recipes.field_names('model') == ['model', 'growth_rate', 'convs_per_block']
    assert recipes.field_names('data') == ['resize', 'batch_size']


def test_choose_recipe_by_hardware_name_and_environment(monkeypatch):
    monkeypatch.delenv(recipes.ENV_VAR, raising=False)
    assert choose_recipe(on_gpu=True).name == 'full' and choose_recipe(on_gpu=False).name == 'cpu-quick'
    assert choose_recipe(on_gpu=False, name='full').name == 'full'
    monkeypatch.setenv(recipes.ENV_VAR, 'full')
    assert choose_recipe(on_gpu=False).name == 'full'
    monkeypatch.setenv(recipes.ENV_VAR, 'bogus')
    with pytest.raises(ValueError, match=r"\$DENSENET_RECIPE must be one of 'full', .*'cpu-quick'.*, got 'bogus'"):
        choose_recipe(on_gpu=False)
    with pytest.raises(ValueError, match="recipe must be one of 'full', .*, got 'huge'"):
        get_recipe('huge')


def test_build_model_builds_the_corrected_or_the_decks_model():
    corrected = build_model(Recipe(model='densenet'))
    deck = build_model(Recipe(model='densenet-deck'))
    assert costs(corrected, 96)['params'] == 758_226 and costs(deck, 96)['params'] == 982_506
    narrow = build_model(Recipe(growth_rate=8, convs_per_block=(2, 2)))
    costs(narrow, 32)
    assert parameter_shapes(narrow)['4.net.1.2.weight'][0] == 8


def test_load_data_gives_the_recipes_batches(tiny_fashion_mnist):
    recipe = get_recipe('cpu-quick').replace(batch_size=16, seed=3)
    train_iter, test_iter = load_data(recipe, root=tiny_fashion_mnist)
    assert (train_iter.batch_size, train_iter.resize, train_iter.seed, train_iter.shuffle) == (16, 32, 3, True)
    X, _ = next(iter(train_iter))
    assert X.shape == (16, 1, 32, 32) and test_iter.resize == 32


def test_expected_minutes_only_for_the_named_recipes_where_measured(monkeypatch):
    quick = get_recipe('cpu-quick')
    monkeypatch.setitem(recipes.MEASURED, 'cpu-quick', recipes.Measured(0.9, 3, 30.0, None, 'x.json', 'x.json'))
    assert recipes.expected_minutes(quick.replace(epochs=3, seed=4), on_gpu=False) == pytest.approx(3 * 30 / 60)
    assert recipes.expected_minutes(quick, on_gpu=True) is None                 # not measured on a GPU
    assert recipes.expected_minutes(quick.replace(lr=0.2), on_gpu=False) is None
    assert recipes.expected_minutes(Recipe(), on_gpu=True) is None              # 'custom'


def test_the_named_recipes_are_valid_recipes():
    for name, recipe in RECIPES.items():
        assert recipe.name == name and Recipe.from_dict(recipe.to_dict()) == recipe


def test_build_model_takes_the_registry_and_the_lesson_code():
    from d2l_extras.model_zoo import build
    from d2l_extras.summary import layer_table
    small = Recipe(resize=32, growth_rate=8, convs_per_block=(2, 2, 2, 2))
    net = build_model(small)
    assert [repr(b) for b in net] == [repr(b) for b in build('densenet', growth_rate=8, convs_per_block=(2, 2, 2, 2))]
    resnet = build_model(Recipe(model='resnet18-quarter', resize=32))
    assert layer_table(resnet, (1, 1, 32, 32))['params'].sum() == 702_570


# ---- the measured numbers are the benchmarks' numbers ---------------------------------------------
BENCHMARKS = Path(__file__).resolve().parents[1] / 'benchmarks'


def same_recipe(stored: dict, recipe: Recipe) -> bool:
    """``stored`` (a recipe as a benchmark file keeps it) is ``recipe`` but for the name and the seed."""
    return set(Recipe.from_dict(stored).differences(recipe)) <= {'name', 'seed'}


def runs_in(file: str, name: str) -> list[list[dict]]:
    """The per-epoch records (``test_acc``, ``time``) of every run of the named recipe stored in ``file``."""
    data, recipe = json.loads((BENCHMARKS / file).read_text()), RECIPES[name]
    if file == 'recipe_search.json':
        return [entry['history']['epochs'] for entry in data if same_recipe(entry['recipe'], recipe)]
    if file == 'time_to_accuracy.json':
        entry = data[name]
        assert same_recipe(entry['recipe'], recipe), f'{file}: {name} was timed with another recipe'
        return [[{'test_acc': a, 'time': t} for a, t in zip(entry['test_acc'], entry['sec_per_epoch'])]]
    assert same_recipe(data['recipe'], recipe), f'{file} holds another recipe than {name}'
    return [run['epochs'] for run in data['runs']]


@pytest.mark.parametrize('name', sorted(recipes.MEASURED))
def test_measured_numbers_are_those_of_the_benchmark_runs(name):
    measured = recipes.MEASURED[name]
    runs = runs_in(measured.source, name)
    assert len(runs) == measured.seeds, f'{measured.source}: {len(runs)} runs of {name}'
    assert all(len(run) == RECIPES[name].epochs for run in runs)
    finals = [run[-1]['test_acc'] for run in runs]
    assert measured.test_acc == pytest.approx(statistics.mean(finals), abs=5e-4)
    if measured.seeds == 1:
        assert measured.spread is None, f'{name}: one seed has no spread'
    else:
        assert measured.spread == pytest.approx(max(finals) - min(finals), abs=5e-5)
    times = [epoch['time'] for run in runs_in(measured.timing, name) for epoch in run]
    assert measured.cpu_sec_per_epoch == pytest.approx(statistics.median(times), abs=0.051)   # to 0.1 s


def test_every_named_recipe_was_measured_and_only_the_deck_on_a_gpu():
    assert set(recipes.MEASURED) == set(RECIPES)
    assert {name for name, m in recipes.MEASURED.items() if m.gpu_sec_per_epoch} == {'full'}
    assert recipes.MEASURED['full'].gpu_sec_per_epoch == 13.2   # the deck's printout


def test_the_cpu_recipes_are_candidates_of_the_recipe_search():
    for name in ('cpu-quick', 'cpu-long'):
        assert runs_in('recipe_search.json', name), f'{name} is none of the candidates run in recipe_search.py'


def test_recipe_table_shows_the_seeds_and_the_spread_of_every_measured_recipe():
    table = recipes.recipe_table()
    for name, measured in recipes.MEASURED.items():
        row = table.loc[name]
        assert row['test acc'] == round(measured.test_acc, 3) and row['seeds'] == measured.seeds
        assert row['spread'] == ('-' if measured.seeds == 1 else round(measured.spread, 3))
