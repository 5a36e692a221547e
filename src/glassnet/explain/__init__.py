"""One sample's (or a small batch's) forward and backward pass, as numbers and as the seeds' prose.

:mod:`.record` runs the pass on a copy of the network and keeps every number
(:func:`explain`, :class:`Explanation`, :class:`LayerStep`); :mod:`.prose` writes a record
out as seed 003 does, down to the chain rule for one weight (:class:`Chain`).
"""

from .prose import Chain
from .record import MAX_ROWS, Explanation, LayerStep, explain

__all__ = ["Explanation", "LayerStep", "Chain", "explain", "MAX_ROWS"]
