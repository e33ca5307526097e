"""``python -m d2l_extras.train``: train the DenseNet on Fashion-MNIST from a terminal (GPU boxes, long runs).

    python -m d2l_extras.train --epochs 5 --resize 96 --batch-size 256 --lr 0.1 \\
        --devices auto --profile full --out runs/deck [--resume]

Writes into ``--out``: the checkpoint of every complete epoch, ``metrics.json`` (the history) and,
at the end, ``final.params``. Exit code 0 when done, 130 after Ctrl-C (the last complete epoch is saved).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from . import use_all_cores

use_all_cores()   # before MXNet loads

import mxnet as mx  # noqa: E402

from .densenet import min_input_size  # noqa: E402
from .profiles import PROFILES, choose_profile  # noqa: E402

EXIT_INTERRUPTED = 130     # what a shell reports for a program stopped by SIGINT


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be a positive integer, got {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be a positive integer (1 or more), got {value}')
    return value


def _resize(text: str) -> int:
    value = _positive_int(text)
    smallest = min_input_size()
    if value < smallest:
        raise argparse.ArgumentTypeError(
            f'must be at least {smallest} px (the DenseNet halves the size 5 times), got {value}')
    return value


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'must be a positive number, got {text!r}') from None
    if not 0 < value < float('inf'):
        raise argparse.ArgumentTypeError(f'must be a positive number, got {text}')
    return value


def _devices(text: str) -> str:
    """Check the syntax: auto, cpu, cpu:0,1 (several CPU contexts), gpu (all usable), gpu:0,1."""
    kind, _, indices = text.partition(':')
    ok = text == 'auto' or (kind in ('cpu', 'gpu') and (
        not indices or all(i.isdigit() for i in indices.split(','))))
    if not ok:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}: use auto, cpu, gpu or gpu:0,1 (also cpu:0,1)")
    return text


def parse_devices(spec: str) -> tuple[list[mx.Context], str]:
    """The contexts a ``--devices`` value names, and a line saying what was found; ValueError if unusable."""
    from .devices import usable_gpus
    kind, _, indices = spec.partition(':')
    wanted = [int(i) for i in indices.split(',')] if indices else []
    if spec == 'auto' or kind == 'gpu':
        working, reason = usable_gpus()
        if spec == 'auto':
            return ([mx.gpu(i) for i in working] or [mx.cpu()]), f'devices auto: {reason}'
        wanted = wanted or working
        bad = [i for i in wanted if i not in working]
        if not wanted or bad:
            raise ValueError(f"--devices {spec}: GPU {', '.join(map(str, bad)) or '(any)'} not usable: {reason}")
        return [mx.gpu(i) for i in wanted], reason
    return [mx.cpu(i) for i in wanted or [0]], 'CPU as asked'


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='python -m d2l_extras.train',
                                     description='Train the DenseNet on Fashion-MNIST with checkpoints.')
    parser.add_argument('--profile', choices=sorted(PROFILES),
                        help='recipe to start from (default: full on a usable GPU, else cpu-quick; '
                             'or $DENSENET_PROFILE); the flags below override it')
    parser.add_argument('--epochs', type=_positive_int, help='number of epochs in total')
    parser.add_argument('--resize', type=_resize, help='input height and width in pixels (32 or more)')
    parser.add_argument('--batch-size', type=_positive_int, help='examples per mini-batch')
    parser.add_argument('--lr', type=_learning_rate, help='SGD learning rate')
    parser.add_argument('--devices', type=_devices, default='auto',
                        help='auto | cpu | gpu | gpu:0,1 (default: auto = all usable GPUs, else the CPU)')
    parser.add_argument('--model', choices=('fixed', 'deck'),
                        help="fixed: transitions halve the channels; deck: the deck's code as written")
    parser.add_argument('--out', required=True, type=Path, help='output folder (checkpoints, metrics.json)')
    parser.add_argument('--resume', action='store_true', help='continue from the checkpoint in --out')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar (log files)')
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, train, save; 0 on success, 130 after Ctrl-C."""
    from mxnet import npx
    from .data import load_data_fashion_mnist
    from .densenet import densenet
    from .training import train

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        devices, reason = parse_devices(args.devices)
    except ValueError as e:
        parser.error(str(e))
    on_gpu = devices[0].device_type == 'gpu'
    profile = choose_profile(on_gpu, args.profile).with_overrides(
        epochs=args.epochs, resize=args.resize, batch_size=args.batch_size, lr=args.lr,
        fixed=None if args.model is None else args.model == 'fixed')
    if args.resume and not (args.out / 'checkpoint.json').is_file():
        print(f'note: --resume given but {args.out} holds no checkpoint yet: starting at epoch 1')
    args.out.mkdir(parents=True, exist_ok=True)
    npx.set_np()
    mx.random.seed(0)
    print(f'{reason}; training on {", ".join(map(str, devices))}')
    print(f'profile {profile.name}: {profile.epochs} epochs, {profile.resize} px, batch {profile.batch_size}, '
          f'lr {profile.lr}, {"corrected" if profile.fixed else "deck"} model; '
          f'expected about {profile.expected_minutes(on_gpu):.0f} min')
    train_iter, test_iter = load_data_fashion_mnist(profile.batch_size, resize=profile.resize)
    net = densenet(profile.growth_rate, profile.convs_per_block, fixed=profile.fixed)
    history = train(net, train_iter, test_iter, num_epochs=profile.epochs, lr=profile.lr, devices=devices,
                    checkpoint_dir=args.out, resume=args.resume, plot=False, progress=not args.no_progress,
                    log=lambda line: print(line, flush=True))
    metrics = {'profile': profile.__dict__, 'devices': [str(d) for d in devices], **history.to_dict()}
    (args.out / 'metrics.json').write_text(json.dumps(metrics, indent=1))
    if history.interrupted:
        return EXIT_INTERRUPTED
    net.save_parameters(str(args.out / 'final.params'))
    print(f'done: {args.out / "metrics.json"}, {args.out / "final.params"}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
