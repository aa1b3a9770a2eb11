"""When a run stops: early stopping on a dev score, with patience and a minimum length.

The defaults are sized by what the published runs showed. ye2019 learns slowly: its dev
F1 rises by a fraction of a point per epoch under epoch-to-epoch noise of one to three
points, so with patience 5 some seeds stopped at a dev F1 7-16 points below other seeds
(on CrossRE, 37 optimizer steps per epoch, most multitask runs stopped by epoch 22
at a best dev F1 of 5-10, while two seeds that happened to continue reached 19-21 after epoch
45). A run now stops after `patience` epochs without improvement, but never before
`min_steps` optimizer steps (the `min_steps` of PyTorch Lightning's Trainer), which a
small corpus reaches only after many epochs and a large one within its first few.

Torch-free, so the command line can show the defaults without importing torch.
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_EPOCHS = 200  # a limit runs do not reach; reports flag any run whose best epoch is the limit
PATIENCE = 10  # epochs without improvement
MIN_STEPS = 2000  # optimizer steps before a run may stop


@dataclass
class Stopper:
    """Feed it each epoch's score (higher is better) and the optimizer steps so far."""

    patience: int = PATIENCE
    min_steps: int = MIN_STEPS
    best: float | None = None
    best_epoch: int = 0
    epochs_since_best: int = 0

    def improved(self, epoch: int, score: float) -> bool:
        """Records the epoch's score; True when it is the best so far (ties keep the first)."""
        if self.best is None or score > self.best:
            self.best, self.best_epoch, self.epochs_since_best = score, epoch, 0
            return True
        self.epochs_since_best += 1
        return False

    def should_stop(self, steps: int) -> bool:
        return self.epochs_since_best > self.patience and steps >= self.min_steps
