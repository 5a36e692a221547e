"""Ctrl-C during a glassnet command: noted at once, raised where it cannot cut a line or a
file in half, and too late once the command has reached its end.

While a command runs, the SIGINT handler raises KeyboardInterrupt as Python's own does,
with three differences:

- inside :meth:`Interrupts.deferred` (a progress bar being drawn, a message being
  written, a staging folder being made) an interrupt is noted, and raised when the block
  ends;
- it raises once: later interrupts are noted only, so that the clean-up the first one
  set off (closing the bar, removing staged files, saying so) runs whole;
- after :meth:`Interrupts.finish` (the outputs are in place, or the command is saying
  how it ended) an interrupt changes nothing and is ignored.

Python drops an exception raised where it cannot propagate (in a ``__del__``, say) and
prints it as "Exception ignored"; such reports of KeyboardInterrupt are not printed, and
:meth:`Interrupts.check` raises the interrupt again at the next safe point. The standard
library alone.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

__all__ = ["Interrupts"]


class Interrupts:
    """The SIGINT handling of one command.

    ``install()`` puts the handler in; until ``arm()`` an interrupt is only noted (the
    command's own modules are still being imported). ``restore()`` puts back the handler
    and the unraisable-exception hook that were there before.
    """

    def __init__(self) -> None:
        self.seen = False  # an interrupt came before the end, raised or not
        self._armed = False
        self._raised = False
        self._deferring = 0
        self._pending = False  # an interrupt came inside the current deferred block
        self._finished = False
        self._installed = False
        # the SIGINT handler and the unraisable-exception hook that install() replaced
        self._previous: Callable[[int, FrameType | None], Any] | int | None = None
        self._previous_hook: Callable[[sys.UnraisableHookArgs], Any] | None = None

    def install(self) -> Interrupts:
        # Python runs signal handlers in the main thread alone, and lets no other thread
        # set them: a command run from another thread leaves Ctrl-C to the main thread.
        # An ignored SIGINT (a shell's background job) stays ignored, as Python leaves it.
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._previous_hook = sys.unraisablehook
            sys.unraisablehook = self._unraisable
            self._installed = True
        return self

    def restore(self) -> None:
        if self._installed:
            # None: a handler set outside Python, which Python cannot set again
            signal.signal(signal.SIGINT, self._previous or signal.SIG_DFL)
            assert self._previous_hook is not None  # set by install()
            sys.unraisablehook = self._previous_hook
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._finished:
            return
        self.seen = True
        if not self._armed or self._raised:
            return
        if self._deferring:
            self._pending = True
            return
        self._raise()

    def _raise(self) -> None:
        self._raised = True
        raise KeyboardInterrupt

    def _unraisable(self, unraisable: sys.UnraisableHookArgs) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            return  # noted by the handler; check() raises it where it can propagate
        assert self._previous_hook is not None  # the hook is in place: install() set it
        self._previous_hook(unraisable)

    def arm(self) -> None:
        """From now on an interrupt raises KeyboardInterrupt (at once, if one came)."""
        self._armed = True
        self.check()

    def check(self) -> None:
        """Raise KeyboardInterrupt if an interrupt came (and was dropped on its way)."""
        if self.seen and not self._finished:
            self._raise()

    def finish(self) -> None:
        """The command has reached its end: from now on an interrupt is ignored."""
        self._finished = True

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A block that an interrupt does not cut: one that comes meanwhile is raised at
        its end (unless the block ends by an exception of its own)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            came = self._pending and not self._deferring
            if came:
                self._pending = False
        if came and not self._finished:
            self._raise()

    @contextlib.contextmanager
    def finishing(self) -> Iterator[None]:
        """The block that ends the command (putting its outputs in place, say): it runs
        whole, and only if no interrupt came before it; the command is then finished."""
        with self.deferred():
            self.check()
            self.finish()
            yield
