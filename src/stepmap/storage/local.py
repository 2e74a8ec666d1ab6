"""A directory that behaves like S3: the embedded default object store.

Layout: ``<root>/<bucket>/<path of the key>``. Every valid S3 key, whatever bytes it holds (``..``,
runs of ``/``, ``\\``, NUL, control characters, 1024 bytes of UTF-8), maps to a path inside its
bucket folder, and :meth:`LocalObjectStore.list` gives it back exactly, in S3's byte order.

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

Why this shape. Names are never empty, ``.`` or ``..``, never hold ``/`` or NUL and never start
with ``.`` (so temporary files, named ``.tmp-*``, are never keys); an object and a directory never
share a name (keys ``a`` and ``a/b`` can both exist); no name is longer than 3 * CHUNK + 2 = 242
bytes (the file system allows 255); and a path is at most about 3.1 KiB past the bucket folder.
Decoding a name is the inverse of encoding it, so the mapping is injective. Finally, the possible
directory prefixes in one folder are prefix-free, so sorting a folder's entries by their decoded
bytes (an object before a directory with the same bytes) and walking depth first lists keys in
S3's order without ever merging. Memory while listing is bounded by the entries of the folders on
the current path, not by the number of keys.

State: only the files. Writes are atomic (temporary file, then ``os.replace``). The MD5 ETag is
kept in an extended attribute with the size and mtime it belongs to, and computed from the
content when that is missing or stale (another OS, a file changed by hand).
Case-insensitive file systems would merge keys that differ only in case; use a case-sensitive one.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import quote_from_bytes, unquote_to_bytes

from stepmap.storage.errors import NoSuchBucket, NoSuchKey, StoreError
from stepmap.storage.objects import ObjectInfo, ObjectStore, check_bucket_name, key_bytes

__all__ = ["CHUNK", "LocalObjectStore", "key_to_parts", "parse_name"]

CHUNK = 80  # key bytes per path component at most; 3 * 80 + 2 <= 255 (NAME_MAX)
_EMPTY_OBJECT = "%_"
_SLASH_DIR = "%"
_CONT_DIR = "%+"
_XATTR = "user.stepmap.etag"
_HAS_XATTR = hasattr(os, "getxattr")  # Linux only; elsewhere the ETag is computed on read


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
    # Only the canonical spelling counts: anything else was not written by this store.
    if (not piece and not tail) or b"/" in piece or _enc(piece) != body:
        return None
    longest = CHUNK - 1 if tail else CHUNK  # the cutting rule in key_to_parts, in reverse
    if len(piece) > longest or (is_dir and not tail and len(piece) != CHUNK):
        return None
    return piece + tail, is_dir


class LocalObjectStore(ObjectStore):
    """Buckets are folders under ``root``; see the module docstring for how keys become paths."""

    def __init__(self, root: str | os.PathLike[str] = ".stepmap/s3") -> None:
        self.root = os.path.abspath(root)

    def __repr__(self) -> str:
        return f"LocalObjectStore({self.root!r})"

    # -- buckets ----------------------------------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        check_bucket_name(bucket)
        os.makedirs(os.path.join(self.root, bucket), exist_ok=True)

    def bucket_exists(self, bucket: str) -> bool:
        check_bucket_name(bucket)
        return os.path.isdir(os.path.join(self.root, bucket))

    def _bucket_dir(self, bucket: str) -> str:
        check_bucket_name(bucket)
        path = os.path.join(self.root, bucket)
        if not os.path.isdir(path):
            raise NoSuchBucket(bucket)
        return path

    def _path(self, bucket: str, key: str) -> tuple[str, str]:
        bdir = self._bucket_dir(bucket)
        return bdir, os.path.join(bdir, *key_to_parts(key_bytes(key)))

    @contextmanager
    def _os_errors(self, bucket: str, key: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            if not os.path.isdir(os.path.join(self.root, bucket)):
                raise NoSuchBucket(bucket) from None
            raise NoSuchKey(bucket, key) from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise StoreError(
                    f"object key {key[:40]!r}... is too long for a store rooted at {self.root!r}"
                ) from None
            raise StoreError(f"cannot access object {key!r} in bucket {bucket!r}: {exc}") from exc

    # -- reads ------------------------------------------------------------------------------
    def get(self, bucket: str, key: str) -> bytes:
        _, path = self._path(bucket, key)
        with self._os_errors(bucket, key), open(path, "rb") as f:
            return f.read()

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        if start < 0 or end < start:
            raise ValueError(f"invalid byte range [{start}, {end})")
        _, path = self._path(bucket, key)
        with self._os_errors(bucket, key), open(path, "rb") as f:
            f.seek(start)
            return f.read(end - start)

    def open(self, bucket: str, key: str) -> BinaryIO:
        _, path = self._path(bucket, key)
        with self._os_errors(bucket, key):
            return open(path, "rb")

    def head(self, bucket: str, key: str) -> ObjectInfo:
        _, path = self._path(bucket, key)
        with self._os_errors(bucket, key):
            return self._info(path, key)

    def _info(self, path: str, key: str) -> ObjectInfo:
        # One descriptor for stat, xattr and content, so all three describe the same file version.
        fd = os.open(path, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            return _object_info(key, st, _etag(fd, st))
        finally:
            os.close(fd)

    def list(self, bucket: str, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        bdir = self._bucket_dir(bucket)
        try:
            want = prefix.encode("utf-8")
            after = start_after.encode("utf-8") if start_after else None
        except UnicodeEncodeError as exc:
            raise StoreError(f"invalid prefix or start_after: not valid Unicode ({exc.reason})") from None
        return self._walk(bdir, want, after)

    def _walk(self, bdir: str, want: bytes, after: bytes | None) -> Iterator[ObjectInfo]:
        stack = [_sorted_entries(bdir, b"")]
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
                continue
            full, is_dir, path = entry
            if is_dir:
                if _may_hold(full, want, after):
                    stack.append(_sorted_entries(path, full))
            elif full.startswith(want) and (after is None or full > after):
                key = full.decode("utf-8")
                try:
                    info = self._info(path, key)
                except FileNotFoundError:
                    continue  # deleted since the folder was read
                except OSError as exc:
                    raise StoreError(f"cannot read object {key!r} while listing: {exc}") from exc
                yield info

    # -- writes -----------------------------------------------------------------------------
    def put(self, bucket: str, key: str, data: bytes) -> ObjectInfo:
        def write(f: BinaryIO, digest: Any) -> None:
            f.write(data)
            digest.update(data)

        return self._put(bucket, key, write)

    def put_file(self, bucket: str, key: str, path: str) -> ObjectInfo:
        def copy(f: BinaryIO, digest: Any) -> None:
            with open(path, "rb") as source:
                while chunk := source.read(1 << 20):
                    f.write(chunk)
                    digest.update(chunk)

        return self._put(bucket, key, copy)

    def _put(self, bucket: str, key: str, write: Callable[[BinaryIO, Any], None]) -> ObjectInfo:
        """Write an object atomically: a temporary file in the same folder, then ``os.replace``."""
        bdir, path = self._path(bucket, key)
        parent = os.path.dirname(path)
        with self._os_errors(bucket, key):
            for attempt in range(5):
                tmp = os.path.join(parent, f".tmp-{secrets.token_hex(8)}")
                try:
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                    break
                except FileNotFoundError:
                    # Folders missing, or pruned by a concurrent delete since we made them.
                    if attempt == 4 or not os.path.isdir(bdir):
                        raise
                    _make_folders(bdir, os.path.relpath(parent, bdir))
            try:
                digest = hashlib.md5(usedforsecurity=False)
                with os.fdopen(fd, "wb") as f:
                    write(f, digest)
                md5 = digest.hexdigest()
                st = os.stat(tmp)
                _remember_etag(tmp, md5, st)
                os.replace(tmp, path)
            except BaseException:
                _unlink_quietly(tmp)
                raise
            return _object_info(key, st, f'"{md5}"')

    def delete(self, bucket: str, key: str) -> None:
        bdir, path = self._path(bucket, key)
        with self._os_errors(bucket, key):
            try:
                os.unlink(path)
            except FileNotFoundError:
                return
        # Prune folders the delete left empty, so listings do not walk dead branches.
        parent = os.path.dirname(path)
        while parent != bdir:
            try:
                os.rmdir(parent)
            except OSError:
                return
            parent = os.path.dirname(parent)


def _make_folders(top: str, relative: str) -> None:
    """``os.makedirs`` without its recursion (a key may nest a thousand folders deep), each step
    relative to the folder made before so that the work stays linear in the depth."""
    if relative == os.curdir:
        return
    if os.mkdir not in os.supports_dir_fd:  # Windows
        os.makedirs(os.path.join(top, relative), exist_ok=True)
        return
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in relative.split(os.sep):
            try:
                os.mkdir(part, dir_fd=fd)
            except FileExistsError:
                pass
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)


def _sorted_entries(folder: str, base: bytes) -> Iterator[tuple[bytes, bool, str]]:
    """A folder's entries as ``(full key bytes, is_dir, path)`` in listing order."""
    entries = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                parsed = None if entry.name.startswith(".") else parse_name(entry.name)
                # A name whose kind disagrees with the file system was not written by this store.
                if parsed is not None and parsed[1] == entry.is_dir(follow_symlinks=False):
                    entries.append((base + parsed[0], parsed[1], entry.path))
    except FileNotFoundError:
        pass  # pruned by a concurrent delete
    entries.sort(key=lambda e: (e[0], e[1]))
    return iter(entries)


def _may_hold(full: bytes, want: bytes, after: bytes | None) -> bool:
    """Can a folder whose keys all start with ``full`` hold a key with prefix ``want`` after ``after``?"""
    if not (full.startswith(want) or want.startswith(full)):
        return False
    # Every key under the folder is <= after exactly when full < after without being its prefix.
    return after is None or after.startswith(full) or full > after


def _object_info(key: str, st: os.stat_result, etag: str) -> ObjectInfo:
    modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC)
    return ObjectInfo(key=key, size=st.st_size, etag=etag, last_modified=modified)


def _remember_etag(target: str | int, md5: str, st: os.stat_result) -> None:
    if _HAS_XATTR:
        try:
            os.setxattr(target, _XATTR, f"{md5}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            pass  # no xattrs on this file system: the ETag is computed on read


def _etag(fd: int, st: os.stat_result) -> str:
    if _HAS_XATTR:
        try:
            md5, size, mtime = os.getxattr(fd, _XATTR).decode().split(":")
            if int(size) == st.st_size and int(mtime) == st.st_mtime_ns:
                return f'"{md5}"'
        except (OSError, ValueError):
            pass
    digest = hashlib.md5(usedforsecurity=False)
    while chunk := os.read(fd, 1 << 20):
        digest.update(chunk)
    md5 = digest.hexdigest()
    _remember_etag(fd, md5, st)
    return f'"{md5}"'


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
