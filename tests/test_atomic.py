"""Files written whole or not at all: a short write, a full disk or Ctrl-C keep the previous version."""
import errno
import json
import os
import shutil

import pytest
from mxnet import np

from d2l_extras import atomic
from d2l_extras.atomic import WriteError, mismatch, write_atomic, write_bytes, write_checksum, write_json
from d2l_extras.recipes import build_model, get_recipe
from d2l_extras.runs import _check_params_file
from training_helpers import TINY, fill, tmpfs


def tiny_net():
    net = build_model(TINY)
    net.initialize()
    net(np.zeros((1, 1, 12, 12)))
    return net


def test_a_write_returns_size_and_checksum_and_leaves_no_temporary_file(tmp_path):
    record = write_json(tmp_path / 'a.json', {'x': 1})
    assert json.loads((tmp_path / 'a.json').read_text()) == {'x': 1}
    assert record == {'bytes': (tmp_path / 'a.json').stat().st_size, 'sha256': atomic.sha256_of(tmp_path / 'a.json')}
    sidecar = write_checksum(tmp_path / 'a.json', record)
    assert sidecar.read_text() == f"{record['sha256']}  a.json\n"            # the format of sha256sum -c
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.json', 'a.json.sha256']
    assert mismatch(tmp_path / 'a.json', record) is None


def test_a_short_write_that_the_writer_does_not_report_is_caught_and_the_old_file_kept(tmp_path):
    """What MXNet's save did on a nearly full disk: fewer bytes on disk, no error (simulated by truncating)."""
    net, path = tiny_net(), tmp_path / 'final.params'
    write_atomic(path, lambda tmp: net.save_parameters(str(tmp)), _check_params_file(net))
    good = path.read_bytes()

    def short_write(tmp):
        net.save_parameters(str(tmp))
        os.truncate(tmp, tmp.stat().st_size // 2)

    with pytest.raises(WriteError, match=rf'could not write {path} \(.*\); the previous version is untouched'):
        write_atomic(path, short_write, _check_params_file(net))
    assert path.read_bytes() == good and [p.name for p in tmp_path.iterdir()] == ['final.params']


def test_bytes_that_do_not_read_back_are_refused(tmp_path, monkeypatch):
    real = atomic.Path.write_bytes
    monkeypatch.setattr(atomic.Path, 'write_bytes', lambda self, data: real(self, data[:-3]))
    with pytest.raises(WriteError, match='a short write'):
        write_bytes(tmp_path / 'm.json', b'{"epochs": []}')
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_a_write_keeps_the_previous_version(tmp_path):
    write_bytes(tmp_path / 'x', b'old')

    def interrupted(tmp):
        tmp.write_bytes(b'ne')
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / 'x', interrupted)
    assert (tmp_path / 'x').read_bytes() == b'old' and [p.name for p in tmp_path.iterdir()] == ['x']


def test_a_full_disk_is_said_in_words(tmp_path, monkeypatch):
    def no_space(tmp):
        raise OSError(errno.ENOSPC, 'No space left on device', str(tmp))
    with pytest.raises(WriteError, match=rf'could not write {tmp_path / "y"} \(the disk is full\)'):
        write_atomic(tmp_path / 'y', no_space)


def test_a_really_full_disk_keeps_the_previous_file(tmp_path):
    with tmpfs(tmp_path / 'disk', 256) as disk:
        net = tiny_net()
        write_atomic(disk / 'final.params', lambda tmp: net.save_parameters(str(tmp)), _check_params_file(net))
        good = (disk / 'final.params').read_bytes()
        fill(disk)
        with pytest.raises(WriteError, match=r'could not write .*final.params \(.*\)'):
            write_atomic(disk / 'final.params', lambda tmp: net.save_parameters(str(tmp)), _check_params_file(net))
        assert (disk / 'final.params').read_bytes() == good
        assert sorted(p.name for p in disk.iterdir()) == ['filler', 'final.params']


def test_a_nearly_full_disk_where_mxnet_truncates_without_a_word_is_caught(tmp_path):
    """A hundred bytes short: MXNet 1.9's save_parameters returns normally and leaves a truncated file."""
    net = build_model(get_recipe('cpu-quick'))
    net.initialize()
    net(np.zeros((1, 1, 32, 32)))
    net.save_parameters(str(tmp_path / 'reference.params'))
    size = (tmp_path / 'reference.params').stat().st_size
    with tmpfs(tmp_path / 'disk', 8192) as disk:
        (disk / 'filler').write_bytes(b'\0' * (shutil.disk_usage(disk).free - size + 100))
        with pytest.raises(WriteError, match=rf'could not write {disk / "final.params"} \(the disk is full\)'):
            write_atomic(disk / 'final.params', lambda tmp: net.save_parameters(str(tmp)), _check_params_file(net))
        assert sorted(p.name for p in disk.iterdir()) == ['filler']


def test_mismatch_says_what_is_wrong(tmp_path):
    record = write_bytes(tmp_path / 'f', b'12345')
    (tmp_path / 'f').write_bytes(b'1234')
    assert 'it has 4 bytes, 5 were written' in mismatch(tmp_path / 'f', record)
    (tmp_path / 'f').write_bytes(b'12346')
    assert 'SHA-256 differs' in mismatch(tmp_path / 'f', record)
    (tmp_path / 'f').unlink()
    assert mismatch(tmp_path / 'f', record) == 'it is missing'
