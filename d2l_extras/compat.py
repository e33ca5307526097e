"""What MXNet 1.9.1 expects of the Python and numpy it runs on, put back before MXNet is imported.

MXNet 1.9.1 (2022, its last release) was built for Python <= 3.11 and numpy < 1.24. The package imports this
module before anything else (``d2l_extras/__init__.py``), so notebooks, tests, benchmarks and the CLI all run
it before ``import mxnet`` (``tests/test_compat.py`` checks that nothing imports MXNet earlier). It is the one
place of the project that knows which Python it runs on. Importing it loads nothing: its changes are made when
``import mxnet`` starts.
"""
import importlib.util
import sys
import warnings

# The Pythons the lesson is tested on (pyproject.toml's requires-python and the Makefile's PYTHONS agree, tested).
SUPPORTED_PYTHONS = ('3.11', '3.12')


def put_back_what_mxnet_expects() -> None:
    """Restore what MXNet 1.9.1 reads of Python and numpy; run once, as `import mxnet` starts (below)."""
    # Python 3.12 removed distutils; MXNet imports distutils.version (numpy_dispatch_protocol.py,
    # numpy_op_fallback.py). Without setuptools' start-up hook (python -S, or it is off), importing setuptools
    # installs its copy of distutils.
    if importlib.util.find_spec('distutils') is None:
        import setuptools  # noqa: F401
    # numpy 1.24 removed numpy.bool, the alias of bool; MXNet reads it when imported (mxnet/numpy/utils.py) and when
    # it runs (numpy/multiarray.py, ndarray/numpy/_op.py, symbol/numpy/_symbol.py).
    import numpy
    with warnings.catch_warnings():                      # asking warns: numpy 1.23 (Python 3.11) that the alias is
        warnings.simplefilter('ignore')                  # deprecated, numpy 1.26 (3.12) that numpy 2 redefines it
        numpy_lacks_bool = not hasattr(numpy, 'bool')    # numpy 1.23 has it, numpy 1.26 lacks it
    if numpy_lacks_bool:                                 # what numpy.bool was until numpy 1.24, and what MXNet
        numpy.bool = bool                                # means by it


class _BeforeMXNet:
    """An import hook that runs put_back_what_mxnet_expects() when `import mxnet` starts, then steps aside. Done then,
    not when this module is imported, so that importing the package stays instant (numpy and setuptools take a
    quarter of a second to load): `python -m d2l_extras.train` answers Ctrl-C with one line from its first moments."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == 'mxnet':
            sys.meta_path.remove(cls)
            put_back_what_mxnet_expects()
        return None   # the usual finders import MXNet


if 'mxnet' in sys.modules:          # imported before this module: too late for its import, in time for its run time
    put_back_what_mxnet_expects()
elif _BeforeMXNet not in sys.meta_path:
    sys.meta_path.insert(0, _BeforeMXNet)


def python_version() -> str:
    """This Python's 'major.minor', as the set-up files name it."""
    return f'{sys.version_info.major}.{sys.version_info.minor}'


def check_python() -> None:
    """Raise a RuntimeError that says what to do when this Python is not one the lesson supports."""
    if python_version() not in SUPPORTED_PYTHONS:
        raise RuntimeError(f'these notebooks need Python {" or ".join(SUPPORTED_PYTHONS)}, this kernel runs '
                           f'{sys.version.split()[0]}: run `make setup` and choose the kernel of .venv, or use the '
                           'container image (README, "Where it runs")')
