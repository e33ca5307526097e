"""benchmarks/recipe_candidates.py: candidates are cpu-quick with a few fields replaced, the schedule
interleaves them with the baseline seed by seed, and the verdict is the goal's (mean, lowest, ratio)."""
import importlib.util
import json
from pathlib import Path

import pytest

from d2l_extras.recipes import RECIPES, Recipe

BENCHMARKS = Path(__file__).resolve().parents[1] / 'benchmarks'
_spec = importlib.util.spec_from_file_location('recipe_candidates', BENCHMARKS / 'recipe_candidates.py')
rc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rc)


def test_every_candidate_is_cpu_quick_with_a_few_fields_replaced():
    quick = RECIPES['cpu-quick']
    for name, (recipe, why) in rc.CANDIDATES.items():
        assert recipe.name == name and why
        assert set(recipe.differences(quick)) - {'name'} <= {'convs_per_block', 'resize', 'batch_size', 'epochs',
                                                             'lr', 'warmup_epochs', 'growth_rate',
                                                             'nesterov'}
        assert recipe.seed == quick.seed and recipe.model == 'densenet'


def test_the_schedule_interleaves_baseline_and_candidates_seed_by_seed():
    names = ['quick-2444-3ep', 'quick-2444-4ep']
    assert rc.schedule(names)[:3] == [('cpu-quick', 0), ('quick-2444-3ep', 0), ('quick-2444-4ep', 0)]
    runs = [fake('cpu-quick', 0, 60, 0.907), fake('quick-2444-3ep', 0, 70, 0.914)]
    assert rc.next_run(runs, names) == ('quick-2444-4ep', 0)
    assert rc.next_run([fake(n, s, 1, 0.9) for n, s in rc.schedule(names)], names) is None


def fake(name, seed, wall, acc, others=0.0):
    return {'name': name, 'recipe': {'seed': seed}, 'wall_sec': [wall / 2, wall], 'test_acc': [acc - 0.01, acc],
            'other_processes_cores': others, 'target_reached_sec': None}


@pytest.mark.parametrize('accs, walls, met', [
    ((0.916, 0.915, 0.914), (65, 66, 60), True),        # mean 0.915, none below 0.910, at most 1.1x
    ((0.916, 0.915, 0.914), (65, 67, 60), False),       # one seed 67 / 60 > 1.1x
    ((0.930, 0.909, 0.920), (60, 60, 60), False),       # mean fine, one seed below 0.910
    ((0.915, 0.915), (60, 60), False),                  # two seeds only
])
def test_the_verdict_is_the_goal(accs, walls, met):
    runs = []
    for seed, (acc, wall) in enumerate(zip(accs, walls)):
        runs += [fake('cpu-quick', seed, 60, 0.907), fake('quick-2444-3ep', seed, wall, acc)]
    assert rc.verdicts(runs)['quick-2444-3ep']['met'] is met


def test_a_busy_run_does_not_count_for_the_time():
    runs = [r for seed in range(3) for r in (fake('cpu-quick', seed, 60, 0.907),
                                            fake('quick-2444-3ep', seed, 60, 0.92, others=1.0 if seed else 0.0))]
    verdict = rc.verdicts(runs)['quick-2444-3ep']
    assert list(verdict['ratios']) == [0] and verdict['met'] is False


def test_the_stored_runs_are_of_the_named_recipes():
    path = BENCHMARKS / 'recipe_candidates.json'
    if not path.exists():
        pytest.skip('no runs stored yet')
    for run in json.loads(path.read_text()):
        recipe = Recipe.from_dict(run['recipe'])
        assert not set(recipe.differences(rc.recipe(run['name']))) - {'seed'}, run['name']
        assert {'date', 'command', 'cpu', 'other_processes_cores'} <= set(run)


def test_a_busy_run_is_run_once_more_and_the_clean_one_counts():
    names = ['quick-2444-3ep']
    runs = [fake('cpu-quick', 0, 60, 0.907), fake('quick-2444-3ep', 0, 90, 0.914, others=1.0)]
    assert rc.next_run(runs, names) == ('quick-2444-3ep', 0)
    runs.append(fake('quick-2444-3ep', 0, 63, 0.916))
    assert rc.next_run(runs, names) == ('cpu-quick', 1)
    assert rc.verdicts(runs)['quick-2444-3ep']['ratios'] == {0: 63 / 60}
    runs[-1]['other_processes_cores'] = 1.0                  # busy twice: not run a third time
    assert rc.next_run(runs, names) == ('cpu-quick', 1)


def test_next_with_the_schedule_complete_says_so(tmp_path, monkeypatch, capsys):
    names = ['quick-244-3ep']
    out = tmp_path / 'runs.json'
    out.write_text(json.dumps([fake(n, s, 60, 0.915) for n, s in rc.schedule(names)]))
    monkeypatch.setattr(rc, 'OUT', out)
    monkeypatch.setattr('sys.argv', ['recipe_candidates.py', '--next', '--names', ','.join(names)])
    rc.main()
    assert capsys.readouterr().out.startswith('every run of the schedule is there\n')


def test_a_candidate_is_timed_against_the_baseline_run_just_before_it():
    names = ['quick-2444-3ep']
    runs = [fake('cpu-quick', 0, 60, 0.907), fake('quick-2444-3ep', 0, 63, 0.916),
            fake('cpu-quick', 0, 80, 0.907), fake('cpu-quick', 1, 70, 0.907), fake('quick-2444-3ep', 1, 84, 0.916)]
    assert rc.verdicts(runs)['quick-2444-3ep']['ratios'] == {0: 63 / 60, 1: 84 / 70}
    assert rc.verdicts(runs[1:2])['quick-2444-3ep']['ratios'] == {}      # no baseline before it: no pair
