"""``python -m d2l_extras.train``: train the DenseNet on Fashion-MNIST from a terminal (GPU boxes, long runs).

    python -m d2l_extras.train --recipe full --devices auto --out runs/deck [--resume | --overwrite]
    python -m d2l_extras.train --recipe cpu-quick --epochs 3 --momentum 0.9 --out runs/quick

A recipe (``--recipe``, or ``$DENSENET_RECIPE``; default ``full`` on a working GPU, else ``cpu-quick``;
with ``--resume``, the checkpoint's) is the starting point; one flag per recipe field changes it
(``--help`` lists them). Writes the run
folder ``--out`` (see ``d2l_extras.runs``): a checkpoint after every epoch, ``metrics.json`` and, at the
end, ``final.params``. A folder that holds a run needs ``--resume`` (continue it; only more epochs may
be asked for) or ``--overwrite`` (start over).

Exit codes: 0 done; 2 refused before training, with a one-line error (a flag, the recipe, the data, the
devices, the memory, the run folder, the checkpoint); 3 the run failed (its loss diverged, or a file
could not be written; the last complete epoch is kept); 130 Ctrl-C (the last complete epoch is kept).
Ctrl-C says one line at every moment from this module's first line on, also while Python loads MXNet
(the first 2 s); only the interpreter's own start-up before it (some 20 ms) is Python's.
"""
from __future__ import annotations

import os
import signal
import sys

EXIT_OK, EXIT_REFUSED, EXIT_FAILED, EXIT_INTERRUPTED = 0, 2, 3, 130   # 130: what a shell reports after SIGINT
NOTHING_WRITTEN = 'interrupted before training started; nothing was written'


def _quit_at_once(signum, frame) -> None:
    """Ctrl-C while the command starts: one line, exit 130, at once (nothing exists yet that needs saving).

    No exception: a KeyboardInterrupt in the middle of MXNet's import would print a long traceback.
    """
    os.write(2, f'error: {NOTHING_WRITTEN}\n'.encode())
    os._exit(EXIT_INTERRUPTED)


if __name__ == '__main__':       # the command (not an import): Ctrl-C is one line from here on
    signal.signal(signal.SIGINT, _quit_at_once)

import argparse  # noqa: E402
from dataclasses import fields  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable, Sequence  # noqa: E402

from . import use_all_cores  # noqa: E402

use_all_cores()   # before MXNet loads

from .recipes import RANGES, RECIPES, Recipe, RecipeError  # noqa: E402


def _typed(kind: type) -> Callable[[str], object]:
    """An argparse type that turns a flag's text into a recipe field's type (the recipe checks the range)."""
    def parse(text: str) -> object:
        if kind is str:
            return text
        try:
            if kind is tuple:
                return tuple(int(part) for part in text.split(','))
            return kind(text)
        except ValueError:
            what = {int: 'an integer', float: 'a number', tuple: 'integers separated by commas'}[kind]
            raise argparse.ArgumentTypeError(f'must be {what}, got {text!r}') from None
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line on stderr (no usage block) and exit code 2."""

    def error(self, message: str) -> None:
        _error(f'{message} (see --help)')
        sys.exit(EXIT_REFUSED)


def build_parser() -> argparse.ArgumentParser:
    """The flags: the recipe, one per recipe field, the devices and the run folder."""
    parser = _Parser(prog='python -m d2l_extras.train',
                     description='Train the DenseNet on Fashion-MNIST with checkpoints.')
    parser.add_argument('--recipe', '--profile', dest='recipe', choices=sorted(RECIPES),
                        help='recipe to start from (default: $DENSENET_RECIPE, else full on a working GPU and '
                             "cpu-quick on a CPU; with --resume, the checkpoint's); the flags below change it")
    recipe_flags = parser.add_argument_group('recipe fields (default: the recipe\'s; a value outside the range '
                                             'is refused)')
    for f in fields(Recipe):
        if f.metadata['group'] == 'label':
            continue
        flag = '--' + f.name.replace('_', '-')
        said = f.metadata['doc'] + (f'; {RANGES[f.name].describe()}' if f.name in RANGES else '')
        if isinstance(f.default, bool):
            recipe_flags.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=said)
        else:
            kind = type(f.default)
            recipe_flags.add_argument(flag, type=_typed(kind), help=said,
                                      metavar={int: 'N', float: 'X', tuple: 'N,N,...'}.get(kind, 'NAME'))
    parser.add_argument('--devices', default='auto',
                        help='auto | cpu | cpu:0,1 | gpu | gpu:0,1 (default: auto = all working GPUs, else the CPU)')
    parser.add_argument('--out', required=True, type=Path, help='the run folder (checkpoints, metrics.json)')
    again = parser.add_mutually_exclusive_group()
    again.add_argument('--resume', action='store_true', help='continue the run in --out (more epochs allowed)')
    again.add_argument('--overwrite', action='store_true', help='delete the run in --out and start over')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar (log files)')
    return parser


def _recipe(args: argparse.Namespace, on_gpu: bool) -> Recipe:
    """The recipe asked for: ``--recipe`` (on ``--resume`` without it: the checkpoint's), changed by the flags."""
    from .recipes import choose_recipe
    from .runs import CHECKPOINT, read_checkpoint
    if args.resume and args.recipe is None and (args.out / CHECKPOINT).is_file():
        base = read_checkpoint(args.out).recipe
    else:
        base = choose_recipe(on_gpu, args.recipe)
    changes = {f.name: getattr(args, f.name) for f in fields(Recipe)
               if f.metadata['group'] != 'label' and getattr(args, f.name) is not None}
    return named(base.replace(**changes))


def named(recipe: Recipe) -> Recipe:
    """The recipe, labelled by the named recipe it is (seed and epochs aside), or 'custom' if none."""
    from .recipes import RECIPES
    same = [name for name, r in RECIPES.items() if r.replace(name=recipe.name, seed=recipe.seed,
                                                               epochs=recipe.epochs) == recipe]
    return recipe.replace(name=same[0] if same else 'custom')


def run(args: argparse.Namespace) -> int:
    """Choose devices and recipe, load the data, build the net, train; the exit code."""
    from mxnet import npx
    from .devices import resolve_devices
    from .recipes import build_model, expected_minutes, load_data
    from .training import train

    npx.set_np()
    devices, reason = resolve_devices(args.devices, name='--devices')
    on_gpu = devices[0].device_type == 'gpu'
    recipe = _recipe(args, on_gpu)
    minutes = expected_minutes(recipe, on_gpu)
    print(f'{reason}; training on {", ".join(map(str, devices))}')
    print(f'recipe {recipe.describe()}' + (f'; expected about {minutes:.0f} min' if minutes else ''), flush=True)
    train_iter, test_iter = load_data(recipe)
    history = train(build_model(recipe), train_iter, test_iter, recipe, devices=devices, run_dir=args.out,
                    resume=args.resume, overwrite=args.overwrite, plot=False, progress=not args.no_progress,
                    log=lambda line: print(line, flush=True))
    if signal.getsignal(signal.SIGINT) is _interrupt_once:
        signal.signal(signal.SIGINT, signal.SIG_IGN)     # the command: what is left is to say how it ended
    if history.interrupted:
        return EXIT_INTERRUPTED
    if history.diverged:
        _error(history.diverged)
        return EXIT_FAILED
    print(f'done: {args.out} holds {len(history)} epochs, metrics.json and final.params')
    return EXIT_OK


def _error(message: str) -> None:
    """One line on stderr."""
    print('error: ' + ' '.join(str(message).split()), file=sys.stderr)


def _interrupt_once(signum, frame) -> None:
    """Ctrl-C once the command runs: a KeyboardInterrupt, which stops the run and keeps its last complete epoch.

    A second Ctrl-C while the run stops is ignored: it would only cut the saving short.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags and run; 0 done, 2 refused, 3 failed, 130 after Ctrl-C (see the module's docstring)."""
    from .atomic import WriteError
    from .runs import CheckpointError, RunFolderError

    args = build_parser().parse_args(argv)       # bad flags: argparse's one line and exit code 2
    try:
        if signal.getsignal(signal.SIGINT) is _quit_at_once:    # the command, past its imports
            signal.signal(signal.SIGINT, _interrupt_once)
        return run(args)
    except KeyboardInterrupt:
        _error(NOTHING_WRITTEN)
        return EXIT_INTERRUPTED
    except RecipeError as e:
        _error(f"--{e.field.replace('_', '-')}: {e}")
        return EXIT_REFUSED
    except WriteError as e:
        _error(e)
        return EXIT_FAILED
    except (ValueError, OSError, RunFolderError, CheckpointError) as e:   # DataNotFoundError is an OSError
        _error(e)
        return EXIT_REFUSED


if __name__ == '__main__':
    sys.exit(main())
