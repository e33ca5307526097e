"""How long one slider update of each explorer takes, at the slider settings that cost the most.

An update is what Jupyter does when a slider moves: call the explorer function, then render its Report
(the table to HTML, the figure to PNG). Each case runs once to warm up, then ``--repeats`` times; the
median is printed. The target: every update under 1 s on 2 CPU cores.

    .venv/bin/python benchmarks/explorer_speed.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import io
import statistics
import time

from d2l_extras import use_all_cores

use_all_cores()   # as the notebooks do, before MXNet loads

from mxnet import npx  # noqa: E402

from d2l_extras import explore  # noqa: E402

# (notebook, explorer, the most expensive settings its sliders allow)
CASES = [
    ('01', explore.explore_dense_block, dict(growth_rate=64, num_convs=8, in_channels=128)),
    ('02', explore.explore_compression, dict(theta=1.0)),
    ('03', explore.explore_densenet, dict(growth_rate=64, convs_per_block=(6, 12, 32, 32), input_size=224,
                                          fixed=False)),
    ('03', explore.explore_densenet, dict(growth_rate=32, convs_per_block=(6, 12, 24, 16), input_size=224)),
    ('05', explore.explore_bc, dict(bottleneck=True, compression=1.0)),
]


def update(explorer, kwargs: dict) -> None:
    """One slider update: compute the Report and render it as the notebook would."""
    report = explorer(**kwargs)
    report.table.to_html()
    if report.figure is not None:
        report.figure.savefig(io.BytesIO(), format='png')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    npx.set_np()
    print(f'{"notebook":8} {"explorer":20} {"median s":>9} {"max s":>7}  settings')
    for notebook, explorer, kwargs in CASES:
        update(explorer, kwargs)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            update(explorer, kwargs)
            times.append(time.perf_counter() - start)
        print(f'{notebook:8} {explorer.__name__:20} {statistics.median(times):9.3f} {max(times):7.3f}  {kwargs}')


if __name__ == '__main__':
    main()
