"""The live plot of a training run in a notebook: train loss, train accuracy and test accuracy as they come."""
from __future__ import annotations

import math


class LivePlot:
    """Train loss, train accuracy and test accuracy drawn as they come, updated in place in a notebook.

    Each update replaces the image in the cell's output (a display with an id), in JupyterLab and in the RISE
    slideshow alike; the title says how much of the run is done; the last image stays in the saved notebook.
    A value that is not finite (the loss of a diverged run) is drawn as a red cross at the top edge:
    the y axis follows the finite values only.
    """

    def __init__(self, num_epochs: int, title: str = '') -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        from .recipes import RANGES
        from .sizes import check_int
        epochs = RANGES['epochs']
        num_epochs = check_int('num_epochs', num_epochs, epochs.low, epochs.high)   # the x axis: 0 to num_epochs
        if not isinstance(title, str):
            raise ValueError(f'title must be a string, got {title!r}')
        self.fig, self.ax = plt.subplots(figsize=(4.5, 3), layout='constrained')
        self.title, self.num_epochs = title, num_epochs
        self.stop: tuple[float, str] | None = None
        self.series = {'train loss': ([], [], '-'), 'train acc': ([], [], 'm--'), 'test acc': ([], [], 'g-.o')}
        self.handle = None
        self.draw()                             # the empty frame: axes, legend, 0% done
        self.handle = display(self.fig, display_id=True)
        plt.close(self.fig)                     # shown through the handle only, not again at cell end

    def add(self, x: float, **values: float) -> None:
        """Add points at epoch ``x``, e.g. ``add(1.5, train_loss=0.4, train_acc=0.85)``."""
        for key, value in values.items():
            xs, ys, _ = self.series[key.replace('_', ' ')]
            xs.append(x)
            ys.append(value)
        self.draw()

    def diverged(self, x: float, message: str) -> None:
        """Mark epoch ``x``, where the run stopped because its loss blew up, and title the plot ``message``."""
        self.stop = (x, message)
        self.draw()

    def done(self) -> float:
        """The part of the run drawn so far: the last epoch with a point, over the number of epochs."""
        return max((xs[-1] for xs, _, _ in self.series.values() if xs), default=0) / self.num_epochs

    def draw(self) -> None:
        """Redraw every series and the title; the y axis spans 0 to the largest finite value (at least 1)."""
        top = max([1.0] + [y for _, ys, _ in self.series.values() for y in ys if math.isfinite(y)])
        self.ax.cla()
        for label, (xs, ys, fmt) in self.series.items():
            if xs:
                self.ax.plot(xs, [y if math.isfinite(y) else math.nan for y in ys], fmt, label=label, markersize=4)
                lost = [x for x, y in zip(xs, ys) if not math.isfinite(y)]
                if lost:
                    self.ax.plot(lost, [top] * len(lost), 'x', color='crimson', clip_on=False)
        self.ax.set(xlabel='epoch', xlim=(0, self.num_epochs), ylim=(0, top))
        epochs = f'{self.num_epochs} epoch{"s" if self.num_epochs != 1 else ""}'
        self.ax.set_title(f'{self.title + ": " if self.title else ""}{self.done():.0%} of {epochs}', fontsize=9)
        if self.stop is not None:
            self.ax.axvline(self.stop[0], color='crimson', lw=1)
            self.ax.set_title(self.stop[1], color='crimson', fontsize=8)
        self.ax.grid(True, alpha=0.3)
        if any(xs for xs, _, _ in self.series.values()):
            self.ax.legend(loc='center right', fontsize=8)
        if self.handle is not None:             # None outside IPython
            self.handle.update(self.fig)
