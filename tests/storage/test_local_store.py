"""The local directory store: the contract, plus what only a directory can get wrong (paths that
leave the root, half-written files, listing order on disk), with property tests for the mapping."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepmap.storage import LocalObjectStore, StoreError
from stepmap.storage.local import CHUNK, key_to_parts, parse_name
from stepmap.storage.objects import MAX_KEY_BYTES
from tests.storage.conftest import fast_tempdir
from tests.storage.store_contract import TRICKY_KEYS, ObjectStoreContract


class TestLocalStore(ObjectStoreContract):
    @pytest.fixture
    def store(self, fast_tmp: Path) -> LocalObjectStore:
        return LocalObjectStore(fast_tmp / "s3")


@pytest.fixture
def store(fast_tmp: Path) -> LocalObjectStore:
    store = LocalObjectStore(fast_tmp / "root" / "s3")
    store.create_bucket("bkt")
    return store


def _all_files(top: Path) -> list[Path]:
    """Every file under ``top`` (os.walk recurses, and a key may nest 1024 folders deep)."""
    found: list[Path] = []
    folders = [top]
    while folders:
        for entry in os.scandir(folders.pop()):
            (folders if entry.is_dir(follow_symlinks=False) else found).append(Path(entry.path))
    return found


def test_escaping_keys_stay_inside_the_bucket(store: LocalObjectStore, fast_tmp: Path) -> None:
    store.create_bucket("other")
    for key in TRICKY_KEYS:
        store.put("bkt", key, b"payload")
    bucket_dir = (fast_tmp / "root" / "s3" / "bkt").resolve()
    files = _all_files(fast_tmp)
    assert len(files) == len(TRICKY_KEYS)
    for f in files:
        assert f.resolve().is_relative_to(bucket_dir), f
    assert list(store.list("other")) == []
    for key in TRICKY_KEYS:
        store.delete("bkt", key)
    assert _all_files(fast_tmp) == []  # and the deep folders are pruned, which rmtree could not do


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Upper",
        "under_score",
        "-start",
        "end-",
        "a..b",
        "192.168.1.1",
        "xn--abc",
        "x-s3alias",
        "../up",
    ],
)
def test_invalid_bucket_names(store: LocalObjectStore, name: str) -> None:
    with pytest.raises(StoreError, match="invalid bucket name"):
        store.create_bucket(name)
    with pytest.raises(StoreError, match="invalid bucket name"):
        store.get(name, "k")


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.bucket-2", "1bucket", "data.2020"])
def test_valid_bucket_names(store: LocalObjectStore, name: str) -> None:
    store.create_bucket(name)
    assert store.bucket_exists(name)


def test_listing_walks_lazily(store: LocalObjectStore) -> None:
    store.put("bkt", "a/1", b"")
    store.put("bkt", "m/2", b"")
    listing = store.list("bkt")
    assert next(listing).key == "a/1"
    store.put("bkt", "m/3", b"")  # into a folder the walk has not read yet
    assert [o.key for o in listing] == ["m/2", "m/3"]


def test_a_reader_keeps_the_version_it_opened(store: LocalObjectStore) -> None:
    store.put("bkt", "k", b"old" * 1000)
    with store.open("bkt", "k") as reader:
        store.put("bkt", "k", b"new")
        assert reader.read() == b"old" * 1000
    assert store.get("bkt", "k") == b"new"


def test_a_failed_write_leaves_the_old_object_and_no_temporary_file(store: LocalObjectStore) -> None:
    store.put("bkt", "k", b"good")
    with pytest.raises(TypeError):
        store.put("bkt", "k", "not bytes")  # type: ignore[arg-type]
    assert store.get("bkt", "k") == b"good"
    assert [f.name for f in _all_files(Path(store.root))] == ["k"]


def test_etag_follows_a_file_changed_by_hand(store: LocalObjectStore) -> None:
    store.put("bkt", "hand", b"before")
    path = Path(store.root, "bkt", "hand")
    path.write_bytes(b"after, and longer")
    assert store.head("bkt", "hand").etag == f'"{hashlib.md5(b"after, and longer").hexdigest()}"'


def test_foreign_files_are_not_keys(store: LocalObjectStore) -> None:
    store.put("bkt", "real", b"")
    bucket_dir = Path(store.root, "bkt")
    (bucket_dir / ".hidden").write_bytes(b"")
    (bucket_dir / "bad%zz").write_bytes(b"")
    (bucket_dir / "plaindir").mkdir()  # a directory without a marker
    (bucket_dir / "plaindir" / "x").write_bytes(b"")
    assert [o.key for o in store.list("bkt")] == ["real"]


def test_key_too_long_for_a_deep_root(fast_tmp: Path) -> None:
    deep = fast_tmp / ("d" * 200) / ("e" * 200) / ("f" * 200) / ("g" * 200) / ("h" * 200)
    store = LocalObjectStore(deep)
    store.create_bucket("bkt")
    with pytest.raises(StoreError, match="too long"):
        store.put("bkt", "\x01" * 1024, b"")


# -- properties of the key <-> path mapping ------------------------------------------------
_pieces = st.sampled_from(
    ["/", "//", ".", "..", "\\", "%", "%2F", "+", "_", "~", "\x00", "\x7f", " ", "é", "😀", "a" * CHUNK]
)
_keys = (
    st.lists(
        st.one_of(_pieces, st.text(min_size=1, max_size=5), st.text("ab", min_size=60, max_size=200)),
        min_size=1,
        max_size=12,
    )
    .map("".join)
    .filter(lambda k: 0 < len(k.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES)
    .filter(lambda k: not any(0xD800 <= ord(c) <= 0xDFFF for c in k))
)


@given(_keys)
@settings(max_examples=400)
def test_paths_are_safe_names_and_decode_to_the_key(key: str) -> None:
    raw = key.encode()
    parts = key_to_parts(raw)
    decoded = b""
    for i, part in enumerate(parts):
        assert part not in ("", ".", "..") and not part.startswith(".")
        assert "/" not in part and "\x00" not in part and "\\" not in part
        assert part.isascii() and len(part) <= 3 * CHUNK + 2 <= 255
        parsed = parse_name(part)
        assert parsed is not None
        assert parsed[1] == (i < len(parts) - 1)  # directories, then the object
        decoded += parsed[0]
    assert decoded == raw
    assert len("/".join(parts)) <= 3 * MAX_KEY_BYTES + 3 * (MAX_KEY_BYTES // CHUNK + 1)


# Keys from a few pieces share long prefixes: objects and folders with the same bytes, ties at
# CHUNK, separators just below and above "/" (0x2F) in byte order.
_close_keys = st.lists(st.sampled_from(["a" * CHUNK, "a", "/", "-", "0"]), min_size=1, max_size=4).map(
    "".join
)


@given(st.sets(st.one_of(_keys, _close_keys), min_size=1, max_size=25), _keys, st.one_of(st.none(), _keys))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_store_round_trips_and_lists_in_s3_order(keys: set[str], prefix: str, after: str | None) -> None:
    with fast_tempdir() as tmp:
        store = LocalObjectStore(tmp)
        store.create_bucket("prop")
        for k in keys:
            store.put("prop", k, k.encode())
        expected = sorted(keys, key=lambda k: k.encode())
        assert [o.key for o in store.list("prop")] == expected
        for k in keys:
            assert store.get("prop", k) == k.encode()
        for p in (prefix, prefix[: len(prefix) // 2], expected[0][:3]):
            want = [k for k in expected if k.startswith(p) and (after is None or k > after)]
            assert [o.key for o in store.list("prop", p, start_after=after)] == want
        for f in _all_files(Path(tmp)):
            assert f.resolve().is_relative_to(Path(tmp, "prop").resolve())
