"""The object store contract: every adapter subclasses :class:`ObjectStoreContract` and provides
a ``store`` fixture. What S3 does is the reference; each test states one behaviour."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stepmap.storage import NoSuchBucket, NoSuchKey, ObjectStore, StoreError
from tests.storage.conftest import unique_name

# Keys that look like paths, escapes, separators or control sequences: all are plain S3 keys.
TRICKY_KEYS = [
    "..",
    ".",
    "../escape",
    "../../../../etc/passwd",
    "a/../../b",
    "./x",
    "/leading",
    "//double//slash//",
    "trailing/",
    "a//",
    "back\\slash\\..\\..",
    "nul\x00byte",
    "ctrl\x01\x1f\x7f",
    "%2F%2e%2E%",
    "%_",
    "x%+",
    "space and+plus?#&=",
    "ünïcödé/日本語/😀",
    "x" * 80,  # an object and a folder with the same 80 bytes: the object lists first
    "x" * 81,
    "x" * 80 + "/tail",
    "x" * 80 + "-",
    "y" * 81,
    "z" * 79 + "/" + "z",
    "w" * 80 + "/" + "w",
    "é" * 512,  # 1024 bytes of UTF-8, the longest key S3 allows
    "/" * 1024,
]


class ObjectStoreContract:
    @pytest.fixture
    def store(self) -> ObjectStore:
        raise NotImplementedError

    @pytest.fixture
    def bucket(self, store: ObjectStore) -> str:
        name = unique_name("bkt")
        store.create_bucket(name)
        return name

    # -- put / get / head -------------------------------------------------------------------
    def test_put_returns_what_head_and_get_see(self, store: ObjectStore, bucket: str) -> None:
        data = b"hello, store"
        before = datetime.now(UTC) - timedelta(seconds=5)
        info = store.put(bucket, "dir/hello.txt", data)
        assert info.key == "dir/hello.txt"
        assert info.size == len(data)
        assert info.etag == f'"{hashlib.md5(data).hexdigest()}"'
        assert info.storage_class == "STANDARD"
        assert info.last_modified.tzinfo is not None
        assert info.last_modified.utcoffset() == timedelta(0)
        assert before <= info.last_modified <= datetime.now(UTC) + timedelta(seconds=5)
        head = store.head(bucket, "dir/hello.txt")
        assert (head.key, head.size, head.etag) == (info.key, info.size, info.etag)
        assert abs(head.last_modified - info.last_modified) < timedelta(seconds=5)
        assert store.get(bucket, "dir/hello.txt") == data

    def test_put_file_streams_a_local_file_in(self, store: ObjectStore, bucket: str, tmp_path: Path) -> None:
        source = tmp_path / "payload.bin"
        data = bytes(range(256)) * 5000
        source.write_bytes(data)
        info = store.put_file(bucket, "files/payload.bin", str(source))
        assert info.size == len(data)
        assert store.get(bucket, "files/payload.bin") == data
        assert store.head(bucket, "files/payload.bin").etag == info.etag

    def test_put_file_into_a_missing_bucket_fails_clearly(self, store: ObjectStore, tmp_path: Path) -> None:
        source = tmp_path / "x"
        source.write_bytes(b"x")
        with pytest.raises(NoSuchBucket):
            store.put_file("no-such-bucket-here", "k", str(source))

    def test_move_file_takes_the_file_in(self, store: ObjectStore, bucket: str, tmp_path: Path) -> None:
        data = bytes(range(256)) * 300
        md5 = hashlib.md5(data).hexdigest()
        store.put(bucket, "files/moved.json", b"an older version")
        for given in (md5, None):  # the caller's MD5, or none (the store computes it)
            source = tmp_path / "result.json"
            source.write_bytes(data)
            info = store.move_file(bucket, "files/moved.json", str(source), given)
            assert not source.exists()
            assert (info.size, info.etag) == (len(data), f'"{md5}"')
            assert store.get(bucket, "files/moved.json") == data
            assert store.head(bucket, "files/moved.json").etag == f'"{md5}"'

    def test_move_file_into_a_missing_bucket_keeps_the_file(self, store: ObjectStore, tmp_path: Path) -> None:
        source = tmp_path / "x"
        source.write_bytes(b"x")
        with pytest.raises(NoSuchBucket):
            store.move_file("no-such-bucket-here", "k", str(source))
        assert source.read_bytes() == b"x"

    def test_put_replaces_an_object(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "k", b"first version")
        store.put(bucket, "k", b"second")
        assert store.get(bucket, "k") == b"second"
        assert store.head(bucket, "k").size == 6
        assert [o.key for o in store.list(bucket)] == ["k"]

    def test_empty_object(self, store: ObjectStore, bucket: str) -> None:
        info = store.put(bucket, "empty", b"")
        assert info.size == 0
        assert info.etag == '"d41d8cd98f00b204e9800998ecf8427e"'
        assert store.get(bucket, "empty") == b""
        assert store.get_range(bucket, "empty", 0, 10) == b""

    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            (0, 3, b"012"),
            (2, 5, b"234"),
            (9, 10, b"9"),
            (8, 100, b"89"),  # clipped at the size
            (0, 10, b"0123456789"),
            (4, 4, b""),
            (10, 12, b""),  # starts at the end
            (50, 60, b""),  # starts past the end
        ],
    )
    def test_get_range(self, store: ObjectStore, bucket: str, start: int, end: int, expected: bytes) -> None:
        store.put(bucket, "digits", b"0123456789")
        assert store.get_range(bucket, "digits", start, end) == expected

    @pytest.mark.parametrize(("start", "end"), [(-1, 3), (5, 2)])
    def test_get_range_rejects_backwards_ranges(
        self, store: ObjectStore, bucket: str, start: int, end: int
    ) -> None:
        store.put(bucket, "digits", b"0123456789")
        with pytest.raises(ValueError, match="invalid byte range"):
            store.get_range(bucket, "digits", start, end)

    def test_open_streams_a_big_object(self, store: ObjectStore, bucket: str) -> None:
        data = bytes(range(256)) * 12_000  # about 3 MB
        store.put(bucket, "big.bin", data)
        with store.open(bucket, "big.bin") as stream:
            chunks = []
            while chunk := stream.read(65_536):
                assert len(chunk) <= 65_536
                chunks.append(chunk)
        assert b"".join(chunks) == data
        assert len(chunks) > 1

    def test_open_reads_lines_as_text(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "rows.csv", "a,b\n1,ü\n2,x\n".encode())
        with store.open(bucket, "rows.csv") as raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
            assert list(text) == ["a,b\n", "1,ü\n", "2,x\n"]

    # -- list -------------------------------------------------------------------------------
    def test_list_orders_by_utf8_bytes_and_filters_by_prefix(self, store: ObjectStore, bucket: str) -> None:
        keys = ["b", "a/b", "a-b", "a0", "a", "A", "ä", "\ue000", "\U0001f600", "a/a/a", "a//", "ab"]
        for k in keys:
            store.put(bucket, k, k.encode())
        listed = list(store.list(bucket))
        assert [o.key for o in listed] == sorted(keys, key=lambda k: k.encode())
        assert all(o.size == len(o.key.encode()) for o in listed)
        assert [o.key for o in store.list(bucket, "a/")] == ["a//", "a/a/a", "a/b"]
        assert [o.key for o in store.list(bucket, "a")] == ["a", "a-b", "a//", "a/a/a", "a/b", "a0", "ab"]
        assert list(store.list(bucket, "nothing-here")) == []

    def test_list_start_after(self, store: ObjectStore, bucket: str) -> None:
        keys = [f"p/{i:03d}" for i in range(30)] + ["q/1"]
        for k in keys:
            store.put(bucket, k, b"")
        assert [o.key for o in store.list(bucket, start_after="p/010")] == keys[11:]
        assert [o.key for o in store.list(bucket, "p/", start_after="p/0155")] == keys[16:30]
        assert [o.key for o in store.list(bucket, start_after="p/")] == keys
        assert list(store.list(bucket, start_after="q/1")) == []

    def test_list_an_empty_bucket(self, store: ObjectStore, bucket: str) -> None:
        assert list(store.list(bucket)) == []

    def test_list_many_keys_across_pages(self, store: ObjectStore, bucket: str) -> None:
        keys = [f"k/{i:04d}" for i in range(45)]
        for k in reversed(keys):
            store.put(bucket, k, b"x")
        assert [o.key for o in store.list(bucket, "k/")] == keys

    def test_tricky_keys_round_trip(self, store: ObjectStore, bucket: str) -> None:
        for k in TRICKY_KEYS:
            store.put(bucket, k, k.encode())
        for k in TRICKY_KEYS:
            assert store.get(bucket, k) == k.encode()
            assert store.head(bucket, k).key == k
        assert [o.key for o in store.list(bucket)] == sorted(TRICKY_KEYS)
        for k in TRICKY_KEYS:
            store.delete(bucket, k)
        assert list(store.list(bucket)) == []

    def test_a_key_and_a_folder_of_the_same_name(self, store: ObjectStore, bucket: str) -> None:
        keys = ["a/b/c", "a", "a/b", "a/", "a/b/"]  # objects, "folders" and folder markers together
        for k in keys:
            store.put(bucket, k, k.encode())
        for k in keys:
            assert store.get(bucket, k) == k.encode()
        assert [o.key for o in store.list(bucket)] == sorted(keys)
        assert [o.key for o in store.list(bucket, "a/b")] == ["a/b", "a/b/", "a/b/c"]
        store.delete(bucket, "a")
        store.delete(bucket, "a/b/")
        assert [o.key for o in store.list(bucket)] == ["a/", "a/b", "a/b/c"]

    def test_put_stream_and_open_with_info(self, store: ObjectStore, bucket: str) -> None:
        data = bytes(range(256)) * 4000
        info = store.put_stream(bucket, "streamed/k", io.BytesIO(data))
        assert info.size == len(data)
        assert info.etag == f'"{hashlib.md5(data).hexdigest()}"'
        stream, seen = store.open_with_info(bucket, "streamed/k")
        with stream:
            assert stream.read() == data
        assert (seen.key, seen.size, seen.etag) == ("streamed/k", len(data), info.etag)

    # -- delete -----------------------------------------------------------------------------
    def test_delete(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "deep/er/key", b"1")
        store.put(bucket, "deep/other", b"2")
        store.delete(bucket, "deep/er/key")
        with pytest.raises(NoSuchKey):
            store.get(bucket, "deep/er/key")
        assert [o.key for o in store.list(bucket)] == ["deep/other"]
        store.delete(bucket, "deep/er/key")  # deleting a missing key is not an error
        store.delete(bucket, "deep/other")
        assert list(store.list(bucket)) == []
        store.put(bucket, "deep/er/key", b"3")  # the pruned folders come back
        assert store.get(bucket, "deep/er/key") == b"3"

    # -- buckets and errors -----------------------------------------------------------------
    def test_create_bucket_is_idempotent(self, store: ObjectStore) -> None:
        name = unique_name("idem")
        assert not store.bucket_exists(name)
        store.create_bucket(name)
        store.create_bucket(name)
        assert store.bucket_exists(name)

    def test_missing_bucket(self, store: ObjectStore) -> None:
        missing = unique_name("missing")
        calls = [
            lambda: store.get(missing, "k"),
            lambda: store.get_range(missing, "k", 0, 1),
            lambda: store.open(missing, "k"),
            lambda: store.head(missing, "k"),
            lambda: store.put(missing, "k", b""),
            lambda: store.delete(missing, "k"),
            lambda: list(store.list(missing)),
        ]
        for call in calls:
            with pytest.raises(NoSuchBucket, match=missing):
                call()

    def test_missing_key(self, store: ObjectStore, bucket: str) -> None:
        store.put(bucket, "present", b"x")
        calls = [
            lambda: store.get(bucket, "absent/key"),
            lambda: store.get_range(bucket, "absent/key", 0, 1),
            lambda: store.get_range(bucket, "absent/key", 0, 0),
            lambda: store.open(bucket, "absent/key"),
            lambda: store.head(bucket, "absent/key"),
            lambda: store.get(bucket, "pres"),
        ]
        for call in calls:
            with pytest.raises(NoSuchKey) as raised:
                call()
            assert raised.value.bucket == bucket
            assert bucket in str(raised.value)

    @pytest.mark.parametrize("key", ["", "x" * 1025, "é" * 513, "lone\ud800surrogate"])
    def test_invalid_keys(self, store: ObjectStore, bucket: str, key: str) -> None:
        with pytest.raises(StoreError, match="invalid object key"):
            store.put(bucket, key, b"")
        with pytest.raises(StoreError, match="invalid object key"):
            store.get(bucket, key)
