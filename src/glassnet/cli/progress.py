"""The progress bar of glassnet train: tqdm over the epochs on stderr, with the loss and
the validation loss.

The bar is made, drawn and closed in blocks that Ctrl-C does not cut (a bar cut while
it is being made or cleared is drawn again, stale, when Python collects it), and it is
closed when training ends however it ends, so the line that follows (a warning, an
error, ``glassnet: interrupted``) starts below it. The end of each epoch is also where an
interrupt that Python dropped on its way (in a ``__del__``, say) is acted on.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from .common import UserError

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(epochs: int, interrupts, hidden: bool = False) -> Iterator:
    """A training callback that draws the bar (``hidden``: draws nothing), closed on the
    way out of the block; ``interrupts`` is the command's
    :class:`~glassnet.cli.interrupts.Interrupts`."""
    try:
        from tqdm import tqdm
    except ImportError:
        raise UserError(
            "the command line needs tqdm for its progress bar: pip install 'glassnet[cli]'"
        ) from None
    from ..training import ProgressBar

    bars = []

    def bar(**kwargs):
        with interrupts.deferred():
            bars.append(tqdm(**kwargs, file=sys.stderr, disable=hidden, dynamic_ncols=True))
        return bars[-1]

    class Bar(ProgressBar):
        def on_epoch_end(self, net, history):
            with interrupts.deferred():
                super().on_epoch_end(net, history)
            interrupts.check()

        def on_train_end(self, net, history):
            with interrupts.deferred():
                super().on_train_end(net, history)

    try:
        yield Bar(bar, epochs)
    finally:
        with interrupts.deferred():
            for made in bars:
                made.close()
