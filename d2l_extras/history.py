"""What a training run measured, epoch by epoch, and how it ended (the record checkpoints and metrics.json keep)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Epoch:
    """What one epoch measured."""
    epoch: int
    loss: float
    train_acc: float
    test_acc: float
    time: float            # seconds for the epoch, training plus test evaluation (as the deck times it)
    img_per_sec: float     # training examples per second

    def line(self) -> str:
        """The deck's per-epoch line."""
        return (f'epoch {self.epoch}, loss {self.loss:.4f}, train acc {self.train_acc:.3f}, '
                f'test acc {self.test_acc:.3f}, time {self.time:.1f} sec')


@dataclass
class History:
    """Per-epoch results of a run; ``interrupted`` after Ctrl-C, ``diverged`` says where the loss blew up."""
    epochs: list[Epoch] = field(default_factory=list)
    interrupted: bool = False
    diverged: str = ''

    def __len__(self) -> int:
        return len(self.epochs)

    def column(self, name: str) -> list[float]:
        """One measurement over the epochs, e.g. ``history.column('test_acc')``."""
        return [getattr(e, name) for e in self.epochs]

    def to_dict(self) -> dict:
        """The history as JSON-ready values."""
        return {'epochs': [asdict(e) for e in self.epochs], 'interrupted': self.interrupted,
                'diverged': self.diverged}

    @classmethod
    def from_dict(cls, data: dict) -> 'History':
        """The history a ``to_dict`` describes (KeyError or TypeError when it is not one)."""
        return cls([Epoch(**e) for e in data['epochs']], bool(data.get('interrupted', False)),
                   str(data.get('diverged', '')))
