"""Files written whole or not at all: a temporary name, fsync, a read-back check, then an atomic rename.

A disk that fills up, a short write that a library did not report, Ctrl-C or a crash at any moment
leave the previous version of the file in place, never half a file. Each write returns the file's
size and SHA-256, for a record beside it (``checkpoint.json``, or a ``NAME.sha256`` file that
``sha256sum -c`` checks).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable

from .errors import error_line

FULL_BELOW = 1 << 16      # bytes free under which a failed write is put down to a full disk


class WriteError(RuntimeError):
    """A file could not be written completely; the previous version (if any) is untouched."""


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path, directory: bool = False) -> None:
    """Flush a file (or a folder's entries) to the disk."""
    fd = os.open(path, os.O_RDONLY | (getattr(os, 'O_DIRECTORY', 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError as e:
        if not (directory and e.errno in (errno.EINVAL, errno.EBADF)):   # some systems cannot sync a folder
            raise
    finally:
        os.close(fd)


def _disk_full(error: Exception, path: Path) -> bool:
    """Whether ``error`` came from a full disk (MXNet's own writer says only 'Write incomplete')."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        return shutil.disk_usage(path.parent).free < FULL_BELOW
    except OSError:
        return False


def temporary_name(path: Path) -> Path:
    """Where ``path`` is written before the rename: a hidden name with this process's ID."""
    return path.with_name(f'.{path.name}.tmp-{os.getpid()}')


def write_atomic(path: Path | str, write: Callable[[Path], None], check: Callable[[Path], None] | None = None,
                 before_rename: Callable[[], None] | None = None) -> dict:
    """Write ``path`` through ``write(tmp)``, fsync, ``check(tmp)`` (raises if it does not read back), rename.

    ``before_rename()`` runs just before the rename, once the new file is whole (e.g. to remove a record
    that will no longer describe ``path``). Returns ``{'bytes': size, 'sha256': hex}`` of what was written.
    Raises :class:`WriteError` naming the file and the fix when any step fails; Ctrl-C passes through;
    neither leaves a temporary file behind.
    """
    path = Path(path)
    tmp = temporary_name(path)
    try:
        write(tmp)
        _fsync(tmp)
        if check is not None:
            check(tmp)
        record = {'bytes': tmp.stat().st_size, 'sha256': sha256_of(tmp)}
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
        _fsync(path.parent, directory=True)
        return record
    except Exception as e:  # noqa: BLE001 - every failure becomes one message naming the file
        why = 'the disk is full' if _disk_full(e, path) else error_line(e)
        raise WriteError(f'could not write {path} ({why}); the previous version is untouched: '
                         'free some space or choose another folder, then resume') from e
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path | str, data: bytes) -> dict:
    """``data`` into ``path``, atomically, checked by reading it back byte for byte."""
    def check(tmp: Path) -> None:
        if tmp.read_bytes() != data:
            raise OSError(f'{len(data)} bytes written, {tmp.stat().st_size} read back differ (a short write?)')
    return write_atomic(path, lambda tmp: tmp.write_bytes(data), check)


def write_json(path: Path | str, value: object) -> dict:
    """``value`` as indented JSON into ``path``, atomically, checked by reading it back."""
    return write_bytes(path, (json.dumps(value, indent=1) + '\n').encode())


def checksum_file(path: Path) -> Path:
    """Where ``path``'s SHA-256 is kept: ``NAME.sha256`` beside it."""
    return path.with_name(path.name + '.sha256')


def checksum_line(path: Path, record: dict) -> str:
    """The line of ``checksum_file(path)``, in ``sha256sum`` format (``sha256sum -c`` checks it)."""
    return f"{record['sha256']}  {path.name}\n"


def write_checksum(path: Path, record: dict) -> Path:
    """``path``'s SHA-256 beside it, as ``NAME.sha256`` in ``sha256sum`` format; returns that file."""
    sidecar = checksum_file(path)
    write_bytes(sidecar, checksum_line(path, record).encode())
    return sidecar


def mismatch(path: Path, record: dict) -> str | None:
    """Why ``path`` is not the file ``record`` describes (missing, other size, other SHA-256), or None."""
    if not path.is_file():
        return 'it is missing'
    size = path.stat().st_size
    if size != record['bytes']:
        return f"it has {size} bytes, {record['bytes']} were written (truncated or changed)"
    if sha256_of(path) != record['sha256']:
        return 'its SHA-256 differs from the one recorded when it was written (changed or damaged)'
    return None
