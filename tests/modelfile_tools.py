"""Tampering with model files on purpose, for tests of what loading refuses.

Someone who edits a model file by hand can recompute its checksum too, so these
helpers do: the tests then check that the loader's other checks catch the edit.
"""

import hashlib
import json
import re
import struct

_FIELD = re.compile(rb'"glassnet_sha256"\s*:\s*"([0-9a-f]{64})"')


def split(blob: bytes) -> tuple[dict, bytes]:
    """(header, tensor data) of a model file."""
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8 : 8 + n]), blob[8 + n :]


def reseal(blob: bytes) -> bytes:
    """The same bytes with a checksum that matches them again."""
    (n,) = struct.unpack("<Q", blob[:8])
    match = _FIELD.search(blob[: 8 + n])
    start, end = match.start(1), match.end(1)
    blank = blob[:start] + b"0" * 64 + blob[end:]
    return blank[:start] + hashlib.sha256(blank).hexdigest().encode() + blank[end:]


def join(header: dict, data: bytes) -> bytes:
    """A model file from a header and tensor data, resealed."""
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return reseal(struct.pack("<Q", len(raw)) + raw + data)


def edit_document(blob: bytes, change) -> bytes:
    """Apply ``change(doc)`` to the glassnet JSON document of a model file."""
    header, data = split(blob)
    doc = json.loads(header["__metadata__"]["glassnet"])
    change(doc)
    header["__metadata__"]["glassnet"] = json.dumps(doc)
    return join(header, data)
