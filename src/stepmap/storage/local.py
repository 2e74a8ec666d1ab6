"""A directory that behaves like S3: the embedded default object store.

Layout: ``<root>/<bucket>/<key>``, the key's own path. Files put there by hand, ``cp``, ``rsync`` or
``aws s3 sync`` are objects, and objects stepmap writes are plain files. :meth:`LocalObjectStore.list`
walks the folders and gives keys back in S3's order (UTF-8 byte order), whatever order the file
system keeps.

Keys a file system cannot hold at their own path go to the **escape area**
``<root>/.stepmap-escaped/<bucket>/`` (encoded as :mod:`stepmap.storage.escaped` describes), and are
read, listed and deleted like any other key:

* a key with an empty component (``a//b``, ``/a``), a trailing ``/`` (folder markers), a ``.`` or
  ``..`` component, NUL, a component longer than 255 bytes, or a component starting with the
  reserved prefix ``.stepmap-``;
* a key whose path is taken by the other kind: ``a/b`` while the object ``a`` is a file, or ``a``
  while ``a/...`` objects make ``a`` a folder. The key written second is escaped.

Symbolic links below the root are never followed, for listing, reading or writing: every path is
opened one component at a time with ``O_NOFOLLOW`` relative to its parent's descriptor, so no race can
swap a link in. A listing skips symbolic links (and FIFOs, sockets, devices, names that are not
UTF-8); reading or writing a key through a link is refused with :class:`StoreError`. Copy linked data
in with ``cp -L`` or ``rsync -L``. (The root itself may be a link: it is the configured location.)

Names starting with ``.stepmap-`` are the store's own: temporary files of writes in progress
(``.stepmap-tmp-*``, in the folder of the object they will replace), the escape area, and the layout
marker. Stores written before this layout (folders named ``name%``) are migrated the first time they
are opened (:mod:`stepmap.storage.migrate`).

State: only the files. Writes are atomic (temporary file, then ``rename``). The MD5 ETag is kept in an
extended attribute with the size and mtime it belongs to, and computed from the content when that is
missing or stale (a file copied in or changed by hand). Case-insensitive file systems would merge keys
that differ only in case; use a case-sensitive one. POSIX only (``dir_fd``, ``O_NOFOLLOW``).
"""

from __future__ import annotations

import errno
import hashlib
import heapq
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any, BinaryIO

from stepmap.storage import escaped
from stepmap.storage.errors import BucketNotEmpty, NoSuchBucket, NoSuchKey, StoreError
from stepmap.storage.objects import ObjectInfo, ObjectStore, check_bucket_name, key_bytes

__all__ = ["DEFAULT_METADATA", "ESCAPED_DIR", "RESERVED_PREFIX", "LocalObjectStore", "plain_parts"]

RESERVED_PREFIX = ".stepmap-"
ESCAPED_DIR = ".stepmap-escaped"
_TMP_PREFIX = ".stepmap-tmp-"
NAME_MAX = 255
_XATTR = "user.stepmap.etag"
_META_XATTR = "user.stepmap.meta"
DEFAULT_METADATA = {"content-type": "binary/octet-stream"}  # what S3 stores for a PUT without headers
_HAS_XATTR = hasattr(os, "getxattr")  # Linux only; elsewhere the ETag is computed on read
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO someone left in the store must not hang; no effect on regular files.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


_Names = list[str]  # inside the class, ``list`` is the listing method


def plain_parts(raw: bytes) -> list[str] | None:
    """The path components of a key kept at its own path, or None when it must be escaped."""
    if raw.endswith(b"/"):
        return None
    parts = raw.split(b"/")
    for part in parts:
        if (
            not part
            or part in (b".", b"..")
            or b"\x00" in part
            or len(part) > NAME_MAX
            or part.startswith(RESERVED_PREFIX.encode())
        ):
            return None
    return [os.fsdecode(p) for p in parts]


class _Blocked(Exception):
    """The key's own path is taken by the other kind (a file where a folder goes, or the reverse)."""


def _symlink_refused(key: str, name: str) -> StoreError:
    return StoreError(
        f"object key {key!r} passes through the symbolic link {name!r} in the store; stepmap does not "
        "follow symbolic links below its root (copy the data in with `cp -L` or `rsync -L`)"
    )


class LocalObjectStore(ObjectStore):
    """Buckets are folders under ``root``; see the module docstring for how keys become paths."""

    def __init__(self, root: str | os.PathLike[str] = ".stepmap/s3") -> None:
        self.root = os.path.abspath(root)
        from stepmap.storage.migrate import ensure_plain_layout

        ensure_plain_layout(self)

    def __repr__(self) -> str:
        return f"LocalObjectStore({self.root!r})"

    # -- buckets ----------------------------------------------------------------------------
    def create_bucket(self, bucket: str) -> None:
        check_bucket_name(bucket)
        fresh = not os.path.isdir(self.root)
        os.makedirs(os.path.join(self.root, bucket), exist_ok=True)
        if fresh:
            from stepmap.storage.migrate import ensure_plain_layout

            ensure_plain_layout(self)

    def bucket_exists(self, bucket: str) -> bool:
        check_bucket_name(bucket)
        try:
            return stat.S_ISDIR(os.lstat(os.path.join(self.root, bucket)).st_mode)
        except OSError:
            return False

    def list_buckets(self) -> _Names:
        try:
            with os.scandir(self.root) as it:
                names = [e.name for e in it if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")]
        except FileNotFoundError:
            return []
        valid = []
        for name in names:
            try:
                check_bucket_name(name)
            except StoreError:
                continue  # a folder that cannot be a bucket (uppercase, underscores): not one
            valid.append(name)
        return sorted(valid)

    def delete_bucket(self, bucket: str) -> None:
        with self._bucket(bucket):
            pass
        if next(iter(self.list(bucket)), None) is not None:
            raise BucketNotEmpty(bucket)
        # Only empty folders (and perhaps abandoned temporary files) are left.
        for top in (os.path.join(self.root, ESCAPED_DIR, bucket), os.path.join(self.root, bucket)):
            _remove_tree(top)

    @contextmanager
    def _bucket(self, bucket: str) -> Iterator[int]:
        """A descriptor of the bucket's folder (not followed if it is a link)."""
        check_bucket_name(bucket)
        try:
            fd = os.open(os.path.join(self.root, bucket), _DIR_FLAGS)
        except FileNotFoundError:
            raise NoSuchBucket(bucket) from None
        except NotADirectoryError:
            if os.path.islink(os.path.join(self.root, bucket)):
                raise StoreError(
                    f"bucket folder {bucket!r} is a symbolic link; stepmap does not follow links below its "
                    f"root {self.root!r} (point --store at the data, or copy it in)"
                ) from None
            raise NoSuchBucket(bucket) from None
        try:
            yield fd
        finally:
            os.close(fd)

    @contextmanager
    def _escape_root(self) -> Iterator[int]:
        """A descriptor of the store root, where the escape area hangs."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            yield fd
        finally:
            os.close(fd)

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

    # -- finding a key ----------------------------------------------------------------------
    @staticmethod
    def _chain(start: int, names: _Names, key: str, *, create: bool, stack: ExitStack) -> list[int] | None:
        """Descriptors of ``start`` and of each folder ``names`` leads to, opened one by one without
        following links (None: a folder is missing and ``create`` is false). Raises _Blocked when a
        file stands where a folder must be, StoreError when a link does."""
        fds = [start]
        for part in names:
            while True:
                try:
                    inner = os.open(part, _DIR_FLAGS, dir_fd=fds[-1])
                    break
                except FileNotFoundError:
                    if not create:
                        return None
                    try:
                        os.mkdir(part, dir_fd=fds[-1])
                    except FileExistsError:
                        pass  # made by a concurrent write: open it
                except NotADirectoryError:
                    if stat.S_ISLNK(os.stat(part, dir_fd=fds[-1], follow_symlinks=False).st_mode):
                        raise _symlink_refused(key, part) from None
                    raise _Blocked from None
            stack.callback(os.close, inner)
            fds.append(inner)
        return fds

    def _open_read(self, bucket: str, key: str) -> int:
        """A read descriptor of the object (its own path first, then the escape area)."""
        raw = key_bytes(key)
        parts = plain_parts(raw)
        with self._bucket(bucket) as bfd, self._os_errors(bucket, key):
            if parts is not None:
                with ExitStack() as stack:
                    try:
                        chain = self._chain(bfd, parts[:-1], key, create=False, stack=stack)
                    except _Blocked:
                        chain = None
                    if chain is not None:
                        fd = self._open_file(chain[-1], parts[-1], key)
                        if fd is not None:
                            return fd
            eparts = escaped.key_to_parts(raw)
            with self._escape_root() as rfd, ExitStack() as stack:
                try:
                    chain = self._chain(
                        rfd, [ESCAPED_DIR, bucket, *eparts[:-1]], key, create=False, stack=stack
                    )
                except (_Blocked, StoreError):
                    chain = None
                fd = None if chain is None else self._open_file(chain[-1], eparts[-1], key)
                if fd is None:
                    raise NoSuchKey(bucket, key)
                return fd

    @staticmethod
    def _open_file(folder: int, name: str, key: str) -> int | None:
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=folder)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _symlink_refused(key, name) from None
            raise StoreError(f"cannot read object {key!r}: {exc}") from exc
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            os.set_blocking(fd, True)
            return fd
        os.close(fd)
        if stat.S_ISDIR(mode):
            return None  # a folder: the key, if it exists, is escaped
        raise StoreError(f"object key {key!r} names a special file (not a regular file) in the store")

    # -- reads ------------------------------------------------------------------------------
    def get(self, bucket: str, key: str) -> bytes:
        with os.fdopen(self._open_read(bucket, key), "rb") as f:
            return f.read()

    def get_range(self, bucket: str, key: str, start: int, end: int) -> bytes:
        if start < 0 or end < start:
            raise ValueError(f"invalid byte range [{start}, {end})")
        fd = self._open_read(bucket, key)
        try:
            return os.pread(fd, end - start, start) if end > start else b""
        finally:
            os.close(fd)

    def open(self, bucket: str, key: str) -> BinaryIO:
        return os.fdopen(self._open_read(bucket, key), "rb")

    def open_with_info(self, bucket: str, key: str) -> tuple[BinaryIO, ObjectInfo]:
        fd = self._open_read(bucket, key)
        try:
            st = os.fstat(fd)
            info = _object_info(key, st, _etag(fd, st), _metadata(fd))
        except BaseException:
            os.close(fd)
            raise
        return os.fdopen(fd, "rb"), info

    def head(self, bucket: str, key: str) -> ObjectInfo:
        fd = self._open_read(bucket, key)
        try:
            st = os.fstat(fd)
            return _object_info(key, st, _etag(fd, st), _metadata(fd))
        finally:
            os.close(fd)

    def list(self, bucket: str, prefix: str = "", *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        check_bucket_name(bucket)
        if not self.bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        try:
            want = prefix.encode("utf-8")
            after = start_after.encode("utf-8") if start_after else None
        except UnicodeEncodeError as exc:
            raise StoreError(f"invalid prefix or start_after: not valid Unicode ({exc.reason})") from None
        return self._merged(bucket, want, after)

    def _merged(self, bucket: str, want: bytes, after: bytes | None) -> Iterator[ObjectInfo]:
        plain = self._walk([bucket], _plain_entries, want, after, 0)
        escape = self._walk([ESCAPED_DIR, bucket], _escaped_entries, want, after, 1)
        previous = None
        for raw, _, info in heapq.merge(plain, escape, key=lambda t: (t[0], t[1])):
            if raw != previous:  # else an escaped copy a plain write has not removed yet: plain wins
                previous = raw
                yield info

    def _walk(
        self,
        top: _Names,
        entries_of: Callable[[int, bytes], Iterator[tuple[bytes, bool, str]]],
        want: bytes,
        after: bytes | None,
        rank: int,
    ) -> Iterator[tuple[bytes, int, ObjectInfo]]:
        """``(key bytes, rank, info)`` of the objects under ``root/top...``, in S3 order; folders are
        opened by descriptor without following links, so depth and links cannot lead out."""
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            for name in top:
                try:
                    inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
                finally:
                    os.close(fd)
                fd = inner
        except OSError:
            return
        stack: list[tuple[int, Iterator[tuple[bytes, bool, str]]]] = [(fd, entries_of(fd, b""))]
        try:
            while stack:
                fd, entries = stack[-1]
                entry = next(entries, None)
                if entry is None:
                    os.close(fd)
                    stack.pop()
                    continue
                full, is_dir, name = entry
                if is_dir:
                    if escaped.may_hold(full, want, after):
                        try:
                            inner = os.open(name, _DIR_FLAGS, dir_fd=fd)
                        except OSError:
                            continue  # removed, or replaced by a link, since the folder was read
                        stack.append((inner, entries_of(inner, full)))
                elif full.startswith(want) and (after is None or full > after):
                    try:
                        ffd = os.open(name, _READ_FLAGS, dir_fd=fd)
                    except OSError:
                        continue
                    try:
                        st = os.fstat(ffd)
                        if stat.S_ISREG(st.st_mode):
                            yield full, rank, _object_info(full.decode("utf-8"), st, _etag(ffd, st))
                    finally:
                        os.close(ffd)
        finally:
            for fd, _ in stack:
                os.close(fd)

    # -- writes -----------------------------------------------------------------------------
    def put(self, bucket: str, key: str, data: bytes) -> ObjectInfo:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"object data must be bytes, not {type(data).__name__}")

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

    def move_file(self, bucket: str, key: str, path: str, md5: str | None = None) -> ObjectInfo:
        """Rename the file at ``path`` in as the object ``key`` (no copy: a finished multi-gigabyte result
        file takes no time). ``md5``, when given, is recorded as its ETag instead of reading the file again.
        A file on another file system is copied in, then removed."""

        def move(folder: int, name: str) -> ObjectInfo:
            os.rename(path, name, dst_dir_fd=folder)
            fd = os.open(name, _READ_FLAGS, dir_fd=folder)
            try:
                st = os.fstat(fd)
                if md5 is None:
                    return _object_info(key, st, _etag(fd, st))
                _remember_etag(fd, md5, st)
                return _object_info(key, st, f'"{md5}"')
            finally:
                os.close(fd)

        try:
            return self._install(bucket, key, move)
        except StoreError as exc:
            if not isinstance(exc.__cause__, OSError) or exc.__cause__.errno != errno.EXDEV:
                raise
        info = self.put_file(bucket, key, path)  # another file system: a rename cannot take it
        try:
            os.unlink(path)
        except OSError:
            pass
        return info

    def put_stream(
        self, bucket: str, key: str, stream: BinaryIO, metadata: Mapping[str, str] | None = None
    ) -> ObjectInfo:
        def copy(f: BinaryIO, digest: Any) -> None:
            while chunk := stream.read(1 << 20):
                f.write(chunk)
                digest.update(chunk)
            if metadata:
                _remember_metadata(f.fileno(), key, metadata)

        return self._put(bucket, key, copy)

    def _put(self, bucket: str, key: str, write: Callable[[BinaryIO, Any], None]) -> ObjectInfo:
        return self._install(bucket, key, lambda folder, name: _write_atomically(folder, name, key, write))

    def adopt(self, bucket: str, key: str, path: str) -> ObjectInfo:
        """Move the file at ``path`` (on the store's file system) in as the object ``key``, without copying
        it (the migration of old-layout stores uses this)."""

        def move(folder: int, name: str) -> ObjectInfo:
            os.rename(path, name, dst_dir_fd=folder)
            fd = os.open(name, _READ_FLAGS, dir_fd=folder)
            try:
                st = os.fstat(fd)
                return _object_info(key, st, _etag(fd, st))
            finally:
                os.close(fd)

        return self._install(bucket, key, move)

    def _install(self, bucket: str, key: str, install: Callable[[int, str], ObjectInfo]) -> ObjectInfo:
        """Put an object where it belongs: its own path, else the escape area. ``install(folder, name)``
        makes the file ``name`` in the folder's descriptor atomically."""
        raw = key_bytes(key)
        parts = plain_parts(raw)
        with self._bucket(bucket) as bfd, self._os_errors(bucket, key):
            if parts is not None:
                try:
                    info = self._put_at(bfd, parts, key, install)
                except _Blocked:
                    pass
                else:
                    self._drop_escaped(bucket, raw)
                    return info
            with self._escape_root() as rfd:
                names = [ESCAPED_DIR, bucket, *escaped.key_to_parts(raw)]
                return self._put_at(rfd, names, key, install)

    def _put_at(
        self, start: int, names: _Names, key: str, install: Callable[[int, str], ObjectInfo]
    ) -> ObjectInfo:
        for attempt in range(5):
            with ExitStack() as stack:
                chain = self._chain(start, names[:-1], key, create=True, stack=stack)
                assert chain is not None
                try:
                    return install(chain[-1], names[-1])
                except FileNotFoundError:
                    # The folder was pruned by a concurrent delete since we opened it: make it again.
                    if attempt == 4:
                        raise
                except IsADirectoryError:
                    raise _Blocked from None
                except OSError as exc:
                    if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR):
                        raise _Blocked from None
                    raise
        raise AssertionError("unreachable")

    def _drop_escaped(self, bucket: str, raw: bytes) -> None:
        with self._escape_root() as rfd:
            try:
                os.stat(os.path.join(ESCAPED_DIR, bucket), dir_fd=rfd, follow_symlinks=False)
            except OSError:
                return  # no escape area for this bucket: the common case costs one stat
            self._unlink(rfd, [ESCAPED_DIR, bucket], escaped.key_to_parts(raw), "")

    def _unlink(self, start: int, top: _Names, parts: _Names, key: str) -> None:
        """Remove the regular file ``top/parts`` under ``start`` (no-op when absent or not a file),
        then the folders of ``parts`` it left empty."""
        with ExitStack() as stack:
            try:
                chain = self._chain(start, [*top, *parts[:-1]], key, create=False, stack=stack)
            except (_Blocked, StoreError):
                return
            if chain is None:
                return
            try:
                if not stat.S_ISREG(os.stat(parts[-1], dir_fd=chain[-1], follow_symlinks=False).st_mode):
                    return
                os.unlink(parts[-1], dir_fd=chain[-1])
            except FileNotFoundError:
                return
            # Prune folders the delete left empty, so listings do not walk dead branches.
            for i in range(len(parts) - 2, -1, -1):
                try:
                    os.rmdir(parts[i], dir_fd=chain[len(top) + i])
                except OSError:
                    return

    def delete(self, bucket: str, key: str) -> None:
        raw = key_bytes(key)
        parts = plain_parts(raw)
        with self._bucket(bucket) as bfd:
            if parts is not None:
                self._unlink(bfd, [], parts, key)
        self._drop_escaped(bucket, raw)


def _plain_entries(fd: int, base: bytes) -> Iterator[tuple[bytes, bool, str]]:
    """A folder's entries as ``(full key bytes, is_dir, name)``, sorted as S3 lists keys: a folder
    ``d`` stands for keys starting ``d/``, so it sorts as ``d/``."""
    entries = []
    try:
        with os.scandir(fd) as it:
            for entry in it:
                name = entry.name
                if name.startswith(RESERVED_PREFIX):
                    continue
                try:
                    piece = name.encode("utf-8")
                except UnicodeEncodeError:
                    continue  # not UTF-8 on disk: cannot be an S3 key
                if entry.is_dir(follow_symlinks=False):
                    entries.append((base + piece + b"/", True, name))
                elif entry.is_file(follow_symlinks=False):
                    entries.append((base + piece, False, name))
    except OSError:
        pass  # pruned by a concurrent delete
    entries.sort(key=lambda e: e[0])
    return iter(entries)


def _escaped_entries(fd: int, base: bytes) -> Iterator[tuple[bytes, bool, str]]:
    """A folder of the escape area as ``(full key bytes, is_dir, name)`` in listing order."""
    entries = []
    try:
        with os.scandir(fd) as it:
            for entry in it:
                parsed = None if entry.name.startswith(".") else escaped.parse_name(entry.name)
                is_dir = entry.is_dir(follow_symlinks=False)
                if parsed is not None and not entry.is_symlink() and parsed[1] == is_dir:
                    entries.append((base + parsed[0], parsed[1], entry.name))
    except OSError:
        pass
    entries.sort(key=lambda e: (e[0], e[1]))
    return iter(entries)


def _write_atomically(folder: int, name: str, key: str, write: Callable[[BinaryIO, Any], None]) -> ObjectInfo:
    """Write a temporary file in ``folder``, then rename it over ``name`` (never through a link)."""
    tmp = f"{_TMP_PREFIX}{secrets.token_hex(8)}"
    fd = os.open(
        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o666, dir_fd=folder
    )
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb", closefd=False) as f:
            write(f, digest)
        md5 = digest.hexdigest()
        st = os.fstat(fd)
        _remember_etag(fd, md5, st)
        os.close(fd)
        fd = -1
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp, dir_fd=folder)
        except OSError:
            pass
        raise
    return _object_info(key, st, f'"{md5}"')


def _remove_tree(top: str) -> None:
    """Remove ``top``, whose objects are gone: empty folders and stale temporary files only."""
    stack = [(top, False)]
    while stack:
        path, emptied = stack.pop()
        if emptied:
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass
            continue
        stack.append((path, True))
        try:
            entries = list(os.scandir(path))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, False))
            else:
                os.unlink(entry.path)


def _object_info(key: str, st: os.stat_result, etag: str, metadata: Any = ()) -> ObjectInfo:
    modified = datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC)
    return ObjectInfo(key=key, size=st.st_size, etag=etag, last_modified=modified, metadata=metadata)


def _remember_metadata(fd: int, key: str, metadata: Mapping[str, str]) -> None:
    """Keep an object's headers in an extended attribute of its (still temporary) file."""
    value = json.dumps(sorted((k.lower(), v) for k, v in metadata.items())).encode()
    try:
        if not _HAS_XATTR:
            raise OSError(errno.ENOTSUP, "no extended attributes on this platform")
        os.setxattr(fd, _META_XATTR, value)
    except OSError as exc:
        if dict(metadata) == DEFAULT_METADATA:
            return  # S3's default content type is what a reader assumes anyway: nothing is lost
        raise StoreError(
            f"cannot keep the metadata of object {key!r} ({exc.strerror}): this file system has no room "
            "for extended attributes; store it without metadata or on another file system"
        ) from None


def _metadata(fd: int) -> tuple[tuple[str, str], ...]:
    if not _HAS_XATTR:
        return ()
    try:
        return tuple((str(k), str(v)) for k, v in json.loads(os.getxattr(fd, _META_XATTR)))
    except (OSError, ValueError, TypeError):
        return ()


def _remember_etag(target: int, md5: str, st: os.stat_result) -> None:
    if _HAS_XATTR:
        try:
            os.setxattr(target, _XATTR, f"{md5}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            pass  # no xattrs on this file system (or a read-only file): the ETag is computed on read


def _etag(fd: int, st: os.stat_result) -> str:
    if _HAS_XATTR:
        try:
            md5, size, mtime = os.getxattr(fd, _XATTR).decode().split(":")
            if int(size) == st.st_size and int(mtime) == st.st_mtime_ns:
                return f'"{md5}"'
        except (OSError, ValueError):
            pass
    digest = hashlib.md5(usedforsecurity=False)
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):  # pread: the caller's position stays at 0
        digest.update(chunk)
        offset += len(chunk)
    md5 = digest.hexdigest()
    _remember_etag(fd, md5, st)
    return f'"{md5}"'
