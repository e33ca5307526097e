"""Peak memory of a student running the lesson: each notebook's kernel, and the JupyterLab server (for a class hub).

Inside the container image, one notebook per fresh container (`make image-benchmark` runs 01-04 this way):

    python benchmarks/notebook_memory.py notebooks/01_dense_blocks.ipynb     # prints one JSON line

executes the notebook top to bottom with nbclient (as nbval and Lab's "Run All" do), then asks the kernel for its
peak resident set size (getrusage's ru_maxrss: MXNet's library included). `--server` prints the peak RSS of the
JupyterLab server running in the container (the image's command, after it served the index's address). A container's
cgroup peak is not used: it counts the page cache only of files that no earlier container had read, so it
depends on the order of the runs. With `--collect IMAGE FILE` the JSON lines on stdin go into FILE
(benchmarks/container_memory.json, which the README quotes; tests/test_container.py checks that it does).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

PEAK_CELL = 'import resource; print("peak-rss-kib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)'


def server_peak() -> dict:
    """Peak RSS (VmHWM) of the JupyterLab server process in this container."""
    for status in Path('/proc').glob('[0-9]*/status'):
        try:
            cmdline = (status.parent / 'cmdline').read_bytes().split(b'\0')
            fields = dict(line.split(':', 1) for line in status.read_text().splitlines() if ':' in line)
        except OSError:
            continue
        if any(part.endswith(b'jupyter-lab') for part in cmdline[:2]):
            return {'server_peak_rss_mb': round(int(fields['VmHWM'].split()[0]) / 1024)}
    raise SystemExit('no JupyterLab server runs in this container')


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
            'cpus': os.cpu_count()}


def collect(image: str, out: Path) -> None:
    rows = [json.loads(line) for line in sys.stdin if line.startswith('{')]
    notebooks = [row for row in rows if 'notebook' in row]
    servers = [row for row in rows if 'server_peak_rss_mb' in row]
    if not notebooks or len(servers) != 1:
        raise SystemExit(f'expected notebook lines and one server line on stdin, got {rows}')
    from d2l_extras.atomic import write_json
    write_json(out, {'image': image, 'date': datetime.date.today().isoformat(),
                     'command': 'make image-benchmark (scripts/image memory)', 'notebooks': notebooks, **servers[0]})
    for row in notebooks:
        print(f"{row['notebook']}: kernel {row['kernel_peak_rss_mb']} MB")
    print(f"JupyterLab server: {servers[0]['server_peak_rss_mb']} MB; written: {out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('notebook', nargs='?', type=Path)
    parser.add_argument('--collect', nargs=2, metavar=('IMAGE', 'FILE'))
    parser.add_argument('--server', action='store_true')
    args = parser.parse_args(argv)
    if args.server:
        print(json.dumps(server_peak()), flush=True)
    elif args.collect:
        collect(args.collect[0], Path(args.collect[1]))
    elif args.notebook:
        print(json.dumps(run(args.notebook)), flush=True)
    else:
        parser.error('give a notebook, --server, or --collect IMAGE FILE')


if __name__ == '__main__':
    main()
