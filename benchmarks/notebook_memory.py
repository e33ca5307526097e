"""Peak memory of a student running a notebook: its kernel, and the whole container (for a class JupyterHub).

Inside the container image, one notebook per fresh container (`scripts/image memory` runs 01-04 this way):

    python benchmarks/notebook_memory.py notebooks/01_dense_blocks.ipynb     # prints one JSON line

executes the notebook top to bottom with nbclient (as nbval and Lab's "Run All" do), then asks the kernel for its
peak resident set size (getrusage's ru_maxrss), and reads the container's peak memory from its cgroup (what a
hub's memory limit counts: every process, kernel and client alike, and the page cache). With `--collect IMAGE
FILE` it gathers those lines from stdin into FILE (benchmarks/container_memory.json, which the README quotes).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import sys
from pathlib import Path

PEAK_CELL = 'import resource; print("peak-rss-kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)'
# cgroup v2, then v1: the container's own peak memory, in bytes.
CGROUP_PEAK = ('/sys/fs/cgroup/memory.peak', '/sys/fs/cgroup/memory/memory.max_usage_in_bytes')


def cgroup_peak() -> int | None:
    for path in CGROUP_PEAK:
        try:
            return int(Path(path).read_text())
        except (OSError, ValueError):
            continue
    return None


def run(notebook: Path) -> dict:
    """Execute the notebook in its folder, then one more cell that prints the kernel's peak RSS."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
    NotebookClient(nb, timeout=1800, kernel_name='python3',
                   resources={'metadata': {'path': str(notebook.parent)}}).execute()
    text = ''.join(out.get('text', '') for out in nb.cells[-1].outputs)
    kernel_kib = int(text.split('peak-rss-kib')[1].split()[0])
    return {'notebook': notebook.name, 'kernel_peak_rss_mb': round(kernel_kib / 1024),
            'client_peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            'container_peak_mb': None if cgroup_peak() is None else round(cgroup_peak() / 2**20),
            'cpus': os.cpu_count()}


def collect(image: str, out: Path) -> None:
    rows = [json.loads(line) for line in sys.stdin if line.startswith('{')]
    if not rows:
        raise SystemExit('no measurement arrived on stdin')
    from d2l_extras.atomic import write_json
    write_json(out, {'image': image, 'date': datetime.date.today().isoformat(),
                     'command': 'make image-memory (scripts/image memory)', 'notebooks': rows})
    for row in rows:
        print(f"{row['notebook']}: kernel {row['kernel_peak_rss_mb']} MB, container {row['container_peak_mb']} MB")
    print(f'written: {out}')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('notebook', nargs='?', type=Path)
    parser.add_argument('--collect', nargs=2, metavar=('IMAGE', 'FILE'))
    args = parser.parse_args(argv)
    if args.collect:
        collect(args.collect[0], Path(args.collect[1]))
    elif args.notebook:
        print(json.dumps(run(args.notebook)), flush=True)
    else:
        parser.error('give a notebook, or --collect IMAGE FILE')


if __name__ == '__main__':
    main()
