"""Build time and size of the container image, recorded for the README (benchmarks/container_image.json).

`make image-benchmark` (`scripts/image benchmark`) builds the image without Docker's layer cache, so that every
step runs as on a machine that never built it, and then runs

    python benchmarks/container_image.py build/image/build-0.json      # GPU=1: build/image/build-1.json

which files that build's record under "cpu" or "gpu" in benchmarks/container_image.json, with this machine's
processor and core count (a build's time depends on both, and on the network to the package index).
tests/test_container.py checks that the README quotes what the file holds.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from machine import cpu_model

RECORD = Path(__file__).resolve().parent / 'container_image.json'
FIELDS = ('image', 'base', 'base_seconds', 'build_seconds', 'size_bytes', 'date')


def record(build: Path, out: Path = RECORD) -> dict:
    """File the build record `build` (written by `scripts/image build`) under its variant in `out`."""
    row = json.loads(build.read_text())
    missing = [name for name in (*FIELDS, 'gpu', 'no_cache') if name not in row]
    if missing:
        raise SystemExit(f'{build}: not a build record of scripts/image (missing {missing})')
    if not row['no_cache']:
        raise SystemExit(f'{build}: that build used the layer cache; `make image-benchmark` builds without it')
    records = json.loads(out.read_text()) if out.exists() else {}
    variant = 'gpu' if row['gpu'] else 'cpu'
    records[variant] = {**{name: row[name] for name in FIELDS}, 'machine': cpu_model(), 'cpus': os.cpu_count(),
                        'command': f"make image-benchmark GPU={row['gpu']} (no layer cache)"}
    from d2l_extras.atomic import write_json
    write_json(out, records)
    new = records[variant]
    print(f"{variant} image: base {new['base_seconds']} s, build {new['build_seconds']} s, "
          f"{new['size_bytes'] / 1e9:.2f} GB; written: {out}")
    return new


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('build', type=Path, help='a build record of scripts/image (build/image/build-GPU.json)')
    record(parser.parse_args(argv).build)


if __name__ == '__main__':
    main()
