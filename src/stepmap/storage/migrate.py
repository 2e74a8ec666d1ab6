"""Move a local store from the old layout (every key encoded, folders named ``name%``) to the plain one.

Before the plain layout, :class:`~stepmap.storage.local.LocalObjectStore` kept every key in the
encoding of :mod:`stepmap.storage.escaped`. A store root carries the marker file ``.stepmap-layout``
once it is known to be plain. Without it, the first process that opens the store, holding a lock on
``.stepmap-layout.lock``, looks at each bucket folder: when every entry at its top is a canonical old
name of the right kind and at least one of them differs from what the plain layout would call it (a
``name%`` folder, ``%_``, a ``%XX`` escape), the bucket is in the old layout and is migrated:

1. the bucket folder is renamed to ``<root>/.stepmap-migrating/<bucket>`` (atomic, same file system);
2. a fresh bucket folder is made and every old object is renamed into it by the store itself
   (:meth:`~stepmap.storage.local.LocalObjectStore.adopt`: keys a plain path cannot hold land in the
   escape area); nothing is copied, so contents, modification times and cached ETags stay;
3. the emptied old tree is removed.

A migration cut short is finished by the next opener (step 1 is done, so it goes on with step 2).
"""

from __future__ import annotations

import fcntl
import os
from typing import TYPE_CHECKING

from stepmap.storage import escaped
from stepmap.storage.errors import StoreError

if TYPE_CHECKING:
    from stepmap.storage.local import LocalObjectStore

__all__ = ["LAYOUT_MARKER", "ensure_plain_layout", "is_old_layout"]

LAYOUT_MARKER = ".stepmap-layout"
_LOCK = ".stepmap-layout.lock"
_MIGRATING = ".stepmap-migrating"
_LAYOUT = "plain 2\n"


def ensure_plain_layout(store: LocalObjectStore) -> None:
    """Migrate old-layout buckets of ``store`` (once; later opens cost one ``stat``)."""
    root = store.root
    if os.path.exists(os.path.join(root, LAYOUT_MARKER)) or not os.path.isdir(root):
        return
    try:
        lock = _open_lock(root)
    except OSError:
        # Read-only: a plain store is read as it is; an old one would be misread, so refuse it.
        for bucket in store.list_buckets():
            if is_old_layout(os.path.join(root, bucket)):
                raise StoreError(
                    f"bucket {bucket!r} in {root!r} is in stepmap's old store layout and the store is not "
                    "writable, so it cannot be migrated: open it once with write access"
                ) from None
        return
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(root, LAYOUT_MARKER)):
            return  # another process finished first
        migrating = os.path.join(root, _MIGRATING)
        pending = sorted(os.listdir(migrating)) if os.path.isdir(migrating) else []
        for bucket in store.list_buckets():
            if bucket not in pending and is_old_layout(os.path.join(root, bucket)):
                os.makedirs(migrating, exist_ok=True)
                os.rename(os.path.join(root, bucket), os.path.join(migrating, bucket))
                pending.append(bucket)
        for bucket in pending:
            _migrate_bucket(store, bucket, os.path.join(migrating, bucket))
        if pending:
            os.rmdir(migrating)
        with open(os.path.join(root, LAYOUT_MARKER), "w", encoding="ascii") as f:
            f.write(_LAYOUT)
    finally:
        os.close(lock)


def _open_lock(root: str) -> int:
    return os.open(os.path.join(root, _LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)


def is_old_layout(bucket_dir: str) -> bool:
    """Does this bucket folder look written by the old (fully encoded) layout?"""
    telling = False
    with os.scandir(bucket_dir) as it:
        for entry in it:
            if entry.name.startswith("."):
                continue
            parsed = escaped.parse_name(entry.name)
            if parsed is None or parsed[1] != entry.is_dir(follow_symlinks=False):
                return False  # a name the old layout never writes: this is a plain folder
            raw, is_dir = parsed
            if is_dir or os.fsencode(entry.name) != raw:
                telling = True
    return telling


def _migrate_bucket(store: LocalObjectStore, bucket: str, old: str) -> None:
    from stepmap.storage.local import _remove_tree

    os.makedirs(os.path.join(store.root, bucket), exist_ok=True)
    for raw, path in list(escaped.walk(old)):
        store.adopt(bucket, raw.decode("utf-8"), path)  # a rename: contents, mtime and ETag stay
    _remove_tree(old)
