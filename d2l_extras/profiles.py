"""Training profiles: the deck's recipe (``full``) and one a 2-core laptop finishes in minutes (``cpu-quick``).

A profile fixes the model size, the input resolution, the recipe and how much data one epoch sees.
``choose_profile`` picks ``full`` on a working GPU and ``cpu-quick`` otherwise, unless the student (or
``$DENSENET_PROFILE``) says which.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace

ENV_VAR = 'DENSENET_PROFILE'


@dataclass(frozen=True)
class Profile:
    """Everything a training run needs besides the devices."""
    name: str
    epochs: int
    resize: int
    batch_size: int
    lr: float
    growth_rate: int = 32
    convs_per_block: tuple[int, ...] = (4, 4, 4, 4)
    fixed: bool = True                      # False: the deck's uncorrected model
    cosine: bool = False                    # cosine learning-rate decay (the deck: constant)
    cpu_sec_per_epoch: float = 0.0          # measured on 2 cores (benchmarks/RESULTS.md)
    gpu_sec_per_epoch: float = 0.0         # the deck's GPU (or our estimate)

    def expected_minutes(self, on_gpu: bool) -> float:
        """Rough wall time of the training run in minutes, from the measurements above."""
        return self.epochs * (self.gpu_sec_per_epoch if on_gpu else self.cpu_sec_per_epoch) / 60

    def with_overrides(self, **changes) -> 'Profile':
        """A copy with the given fields changed; ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PROFILES = {
    # The deck's last page: 96 px, batch 256, lr 0.1, 5 epochs (13.2 s/epoch on the deck's GPU; on
    # 2 CPU cores 79 img/s of training plus a 39 s test pass, benchmarks/RESULTS.md).
    'full': Profile('full', epochs=5, resize=96, batch_size=256, lr=0.1,
                    cpu_sec_per_epoch=800.0, gpu_sec_per_epoch=13.2),
    # The same model at a third of the resolution (a ninth of the work per image), twice the updates
    # per epoch, and a cosine decay to 0 within the one epoch (benchmarks/RESULTS.md). CPU seconds per
    # epoch with OMP_NUM_THREADS=2 on 2 cores (MXNet's default uses only half the cores).
    'cpu-quick': Profile('cpu-quick', epochs=1, resize=32, batch_size=128, lr=0.2, cosine=True,
                         cpu_sec_per_epoch=110.0, gpu_sec_per_epoch=3.0),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``'full'`` or ``'cpu-quick'``)."""
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(map(repr, PROFILES))}, got {name!r}")
    return PROFILES[name]


def choose_profile(on_gpu: bool, name: str | None = None) -> Profile:
    """``name`` if given, else ``$DENSENET_PROFILE`` if set, else ``full`` on a GPU and ``cpu-quick`` on CPU."""
    name = name or os.environ.get(ENV_VAR) or ('full' if on_gpu else 'cpu-quick')
    return get_profile(name)
