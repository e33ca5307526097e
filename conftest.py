"""nbval: a cell that runs past --nbval-cell-timeout fails the run.

On a timeout nbval interrupts the kernel and marks every later cell "expected to fail". A cell that
handles KeyboardInterrupt (training stops cleanly on Ctrl-C, by design) then "passes", the cells
after it are xfail/xpass, and the whole run ends green although the notebook never finished.
This hook turns every cell from the timed-out one on into a failure that says so.
"""
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == 'call' and getattr(item.parent, 'timed_out', False):
        report.outcome = 'failed'
        report.longrepr = (f'{item.name}: this cell or an earlier one ran past --nbval-cell-timeout '
                           f'({item.config.option.nbval_cell_timeout} s); the notebook did not finish')
        if hasattr(report, 'wasxfail'):
            del report.wasxfail
