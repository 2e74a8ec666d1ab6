"""The escape area of the local store: a path for every S3 key, even those a file system cannot hold.

:class:`~stepmap.storage.local.LocalObjectStore` keeps a key at its own path when it can. The keys it
cannot (``a`` beside ``a/b``, ``..``, empty components, a trailing ``/``, NUL, a component over 255
bytes) live under ``<root>/.stepmap-escaped/<bucket>/`` in this encoding, which was also the whole
layout of stepmap stores before the plain one (:mod:`stepmap.storage.migrate` moves those).

How a key becomes a path. The key's UTF-8 bytes are cut into components, left to right: at the
first ``/`` if one occurs within the next ``CHUNK`` bytes, otherwise after ``CHUNK`` bytes if more
remain, otherwise the rest is the object itself. Each piece is percent-encoded (RFC 3986
unreserved bytes stay as they are, ``%`` and every other byte become ``%XX``, and a leading ``.``
becomes ``%2E``) and marked with its kind:

=================  ===========================================================
name on disk       meaning
=================  ===========================================================
``enc(x)``         the object; ``x`` is the rest of its key (1..CHUNK bytes, no ``/``)
``%_``             the object whose key ends here (the key ended with ``/``)
``enc(t)%``        a directory: the key goes on with ``t/`` (``t`` may be empty)
``enc(p)%+``       a directory: the key goes on with ``p``, exactly CHUNK bytes without ``/``
=================  ===========================================================

Names are never empty, ``.`` or ``..``, never hold ``/`` or NUL and never start with ``.``; an
object and a directory never share a name; no name is longer than 3 * CHUNK + 2 = 242 bytes.
Decoding is the inverse of encoding, so the mapping is injective, and the directory prefixes in one
folder are prefix-free, so sorting a folder's entries by their decoded bytes and walking depth first
lists keys in S3's order. State: none; the files are the state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import quote_from_bytes, unquote_to_bytes

__all__ = ["CHUNK", "key_to_parts", "may_hold", "parse_name", "walk"]

CHUNK = 80  # key bytes per path component at most; 3 * 80 + 2 <= 255 (NAME_MAX)
_EMPTY_OBJECT = "%_"
_SLASH_DIR = "%"
_CONT_DIR = "%+"


def _enc(piece: bytes) -> str:
    name = quote_from_bytes(piece, safe="")
    return "%2E" + name[1:] if name.startswith(".") else name


def key_to_parts(raw: bytes) -> list[str]:
    """The path components (names on disk) of a key given as UTF-8 bytes."""
    parts = []
    rest = raw
    while True:
        slash = rest.find(b"/", 0, CHUNK)
        if slash >= 0:
            parts.append(_enc(rest[:slash]) + _SLASH_DIR)
            rest = rest[slash + 1 :]
        elif len(rest) > CHUNK:
            parts.append(_enc(rest[:CHUNK]) + _CONT_DIR)
            rest = rest[CHUNK:]
        else:
            parts.append(_enc(rest) if rest else _EMPTY_OBJECT)
            return parts


def parse_name(name: str) -> tuple[bytes, bool] | None:
    """``(key bytes this name stands for, is a directory)``, or None for a name no key produces."""
    if name == _EMPTY_OBJECT:
        return b"", False
    if name.endswith(_CONT_DIR):
        body, is_dir, tail = name[:-2], True, b""
    elif name.endswith(_SLASH_DIR):
        body, is_dir, tail = name[:-1], True, b"/"
    else:
        body, is_dir, tail = name, False, b""
    piece = unquote_to_bytes(body)
    # Only the canonical spelling counts: anything else was not written by this encoding.
    if (not piece and not tail) or b"/" in piece or _enc(piece) != body:
        return None
    longest = CHUNK - 1 if tail else CHUNK  # the cutting rule in key_to_parts, in reverse
    if len(piece) > longest or (is_dir and not tail and len(piece) != CHUNK):
        return None
    return piece + tail, is_dir


def walk(top: str, want: bytes = b"", after: bytes | None = None) -> Iterator[tuple[bytes, str]]:
    """``(key bytes, path)`` of every object under ``top`` with prefix ``want`` after ``after``, in
    S3's order. Symbolic links are never followed (nor listed)."""
    stack = [_sorted_entries(top, b"")]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        full, is_dir, path = entry
        if is_dir:
            if may_hold(full, want, after):
                stack.append(_sorted_entries(path, full))
        elif full.startswith(want) and (after is None or full > after):
            yield full, path


def _sorted_entries(folder: str, base: bytes) -> Iterator[tuple[bytes, bool, str]]:
    """A folder's entries as ``(full key bytes, is_dir, path)`` in listing order."""
    entries = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                parsed = None if entry.name.startswith(".") else parse_name(entry.name)
                if parsed is None or entry.is_symlink():
                    continue
                # A name whose kind disagrees with the file system was not written by this encoding.
                if parsed[1] == entry.is_dir(follow_symlinks=False):
                    entries.append((base + parsed[0], parsed[1], entry.path))
    except (FileNotFoundError, NotADirectoryError):
        pass  # pruned by a concurrent delete
    entries.sort(key=lambda e: (e[0], e[1]))
    return iter(entries)


def may_hold(full: bytes, want: bytes, after: bytes | None) -> bool:
    """Can a folder whose keys all start with ``full`` hold a key with prefix ``want`` after ``after``?"""
    if not (full.startswith(want) or want.startswith(full)):
        return False
    # Every key under the folder is <= after exactly when full < after without being its prefix.
    return after is None or after.startswith(full) or full > after
