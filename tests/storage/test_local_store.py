"""The local directory store: the contract, plus what only a directory can get wrong (paths that
leave the root, half-written files, listing order on disk), with property tests for the mapping."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepmap.storage import BucketNotEmpty, LocalObjectStore, StoreError
from stepmap.storage.escaped import CHUNK, key_to_parts, parse_name
from stepmap.storage.local import ESCAPED_DIR
from stepmap.storage.migrate import LAYOUT_MARKER
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


def _object_files(root: Path) -> list[Path]:
    return [f for f in _all_files(root) if not f.name.startswith(".stepmap-layout")]


def test_escaping_keys_stay_inside_the_bucket(store: LocalObjectStore, fast_tmp: Path) -> None:
    store.create_bucket("other")
    for key in TRICKY_KEYS:
        store.put("bkt", key, b"payload")
    root = (fast_tmp / "root" / "s3").resolve()
    files = _object_files(fast_tmp)
    assert len(files) == len(TRICKY_KEYS)
    for f in files:
        inside = f.resolve()
        assert inside.is_relative_to(root / "bkt") or inside.is_relative_to(root / ESCAPED_DIR / "bkt"), f
    assert list(store.list("other")) == []
    for key in TRICKY_KEYS:
        store.delete("bkt", key)
    assert _object_files(fast_tmp) == []  # and the deep folders are pruned, which rmtree could not do


def test_objects_are_plain_files_at_their_keys_path(store: LocalObjectStore) -> None:
    store.put("bkt", "dir/sub/file.txt", b"hello")
    store.put("bkt", ".gitignore", b"*.pyc")
    assert Path(store.root, "bkt", "dir", "sub", "file.txt").read_bytes() == b"hello"
    assert Path(store.root, "bkt", ".gitignore").read_bytes() == b"*.pyc"


def test_a_folder_copied_in_by_hand_is_listed_in_s3_order(store: LocalObjectStore) -> None:
    bucket = Path(store.root, "bkt")
    names = ["data/a-b.csv", "data/a/1.csv", "data/a0.csv", "data/A.csv", "data/ä.csv", "data/.hidden", "z"]
    for name in names:
        (bucket / name).parent.mkdir(parents=True, exist_ok=True)
        (bucket / name).write_bytes(name.encode())
    expected = sorted(names, key=lambda k: k.encode())
    assert [o.key for o in store.list("bkt")] == expected
    assert [o.key for o in store.list("bkt", "data/a")] == ["data/a-b.csv", "data/a/1.csv", "data/a0.csv"]
    assert store.head("bkt", "data/ä.csv").etag == f'"{hashlib.md5("data/ä.csv".encode()).hexdigest()}"'
    assert store.get("bkt", "data/a/1.csv") == b"data/a/1.csv"


@pytest.mark.parametrize("first", ["a", "a/b"])
def test_a_key_and_a_folder_of_the_same_name_both_exist(store: LocalObjectStore, first: str) -> None:
    second = "a/b" if first == "a" else "a"
    store.put("bkt", first, b"1")
    store.put("bkt", second, b"2")
    assert store.get("bkt", first) == b"1"
    assert store.get("bkt", second) == b"2"
    assert [o.key for o in store.list("bkt")] == ["a", "a/b"]
    store.delete("bkt", first)
    assert [o.key for o in store.list("bkt")] == [second]
    store.put("bkt", first, b"3")
    assert store.get("bkt", first) == b"3"
    assert [o.key for o in store.list("bkt")] == ["a", "a/b"]


def test_a_rewritten_key_leaves_no_stale_escaped_copy(store: LocalObjectStore) -> None:
    store.put("bkt", "a", b"file")
    store.put("bkt", "a/b", b"escaped")  # escaped: "a" is a file
    store.delete("bkt", "a")
    store.put("bkt", "a/b", b"plain now")
    assert [(o.key, o.size) for o in store.list("bkt")] == [("a/b", 9)]
    assert (
        not Path(store.root, ESCAPED_DIR, "bkt").exists()
        or _object_files(Path(store.root, ESCAPED_DIR)) == []
    )


@pytest.mark.parametrize("key", ["..", "a/../b", "./x", "a//b", "/lead", "trail/", "nul\x00", "x" * 300])
def test_keys_a_file_system_cannot_hold_go_to_the_escape_area(store: LocalObjectStore, key: str) -> None:
    store.put("bkt", key, b"v")
    assert [f.relative_to(store.root).parts[0] for f in _object_files(Path(store.root))] == [ESCAPED_DIR]
    assert [o.key for o in store.list("bkt")] == [key]


def test_reserved_names_are_not_keys_but_reserved_keys_still_work(store: LocalObjectStore) -> None:
    bucket = Path(store.root, "bkt")
    (bucket / ".stepmap-tmp-0123").write_bytes(b"half written")
    store.put("bkt", ".stepmap-tmp-0123", b"a real key")  # escaped, beside the temporary file
    assert [o.key for o in store.list("bkt")] == [".stepmap-tmp-0123"]
    assert store.get("bkt", ".stepmap-tmp-0123") == b"a real key"


# -- symbolic links are never followed ---------------------------------------------------------
@pytest.fixture
def outside(fast_tmp: Path) -> Path:
    folder = fast_tmp / "outside"
    folder.mkdir()
    (folder / "secret").write_bytes(b"secret")
    return folder


def test_listing_skips_links_out_of_the_root(store: LocalObjectStore, outside: Path) -> None:
    bucket = Path(store.root, "bkt")
    store.put("bkt", "real", b"x")
    (bucket / "dirlink").symlink_to(outside)
    (bucket / "filelink").symlink_to(outside / "secret")
    assert [o.key for o in store.list("bkt")] == ["real"]


def test_reads_through_links_are_refused(store: LocalObjectStore, outside: Path) -> None:
    bucket = Path(store.root, "bkt")
    (bucket / "dirlink").symlink_to(outside)
    (bucket / "filelink").symlink_to(outside / "secret")
    for key in ("dirlink/secret", "filelink"):
        with pytest.raises(StoreError, match="symbolic link"):
            store.get("bkt", key)
        with pytest.raises(StoreError, match="symbolic link"):
            store.head("bkt", key)


def test_writes_through_links_are_refused_and_touch_nothing_outside(
    store: LocalObjectStore, outside: Path
) -> None:
    bucket = Path(store.root, "bkt")
    (bucket / "dirlink").symlink_to(outside)
    with pytest.raises(StoreError, match="symbolic link"):
        store.put("bkt", "dirlink/secret", b"overwritten")
    with pytest.raises(StoreError, match="symbolic link"):
        store.put("bkt", "dirlink/new", b"planted")
    (bucket / "filelink").symlink_to(outside / "secret")
    store.put("bkt", "filelink", b"replaces the link, not its target")
    store.delete("bkt", "dirlink/secret")
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_bytes() == b"secret"
    assert not (bucket / "filelink").is_symlink()


def test_a_bucket_folder_that_is_a_link_is_refused(store: LocalObjectStore, outside: Path) -> None:
    Path(store.root, "linked").symlink_to(outside)
    with pytest.raises(StoreError, match="symbolic link"):
        store.get("linked", "secret")
    assert "linked" not in store.list_buckets()


def test_special_files_are_skipped_and_refused(store: LocalObjectStore) -> None:
    os.mkfifo(Path(store.root, "bkt", "fifo"))
    store.put("bkt", "real", b"x")
    assert [o.key for o in store.list("bkt")] == ["real"]
    with pytest.raises(StoreError, match="special file"):
        store.get("bkt", "fifo")


def test_names_that_are_not_utf8_are_skipped(store: LocalObjectStore) -> None:
    os.close(os.open(os.path.join(os.fsencode(store.root), b"bkt", b"latin1-\xe9"), os.O_CREAT | os.O_WRONLY))
    store.put("bkt", "ok", b"")
    assert [o.key for o in store.list("bkt")] == ["ok"]


def test_buckets_are_listed_and_only_empty_ones_deleted(store: LocalObjectStore) -> None:
    store.create_bucket("second")
    Path(store.root, "Not_A_Bucket").mkdir()
    assert store.list_buckets() == ["bkt", "second"]
    store.put("second", "deep/key", b"")
    with pytest.raises(BucketNotEmpty):
        store.delete_bucket("second")
    store.delete("second", "deep/key")
    Path(store.root, "second", "empty-folder").mkdir()
    store.delete_bucket("second")
    assert store.list_buckets() == ["bkt"]


# -- the old layout ------------------------------------------------------------------------------
def _write_old_layout(root: Path, bucket: str, keys: list[str]) -> None:
    for key in keys:
        path = root.joinpath(bucket, *key_to_parts(key.encode()))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(key.encode())


def test_an_old_layout_store_is_migrated_when_opened(fast_tmp: Path) -> None:
    root = fast_tmp / "old"
    keys = ["top.json", "dir/sub/file.csv", "space name.txt", "a", "a/b", "..", "trail/", "x" * 300]
    _write_old_layout(root, "bkt", keys)
    (root / "plainbkt").mkdir()
    (root / "plainbkt" / "100%").write_bytes(b"a plain file whose name looks encoded")
    old_file = root.joinpath("bkt", *key_to_parts(b"dir/sub/file.csv"))
    os.utime(old_file, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    inode = old_file.stat().st_ino
    store = LocalObjectStore(root)
    moved = root / "bkt" / "dir" / "sub" / "file.csv"
    assert (moved.stat().st_ino, moved.stat().st_mtime_ns) == (inode, 1_000_000_000_000_000_000)  # renamed
    assert [o.key for o in store.list("bkt")] == sorted(keys, key=lambda k: k.encode())
    for key in keys:
        assert store.get("bkt", key) == key.encode()
    assert (root / "bkt" / "dir" / "sub" / "file.csv").read_bytes() == b"dir/sub/file.csv"
    assert (root / "bkt" / "space name.txt").exists()
    assert not (root / "bkt" / "dir%").exists()
    assert [o.key for o in store.list("plainbkt")] == ["100%"]  # a plain bucket is left alone
    assert (root / LAYOUT_MARKER).exists()
    LocalObjectStore(root)  # opening again is a no-op
    assert [o.key for o in store.list("bkt")] == sorted(keys, key=lambda k: k.encode())


def test_a_cut_short_migration_is_finished_by_the_next_opener(fast_tmp: Path) -> None:
    root = fast_tmp / "old"
    _write_old_layout(root / ".stepmap-migrating", "bkt", ["half/way.txt", "b"])
    (root / "bkt").mkdir()
    (root / "bkt" / "done.txt").write_bytes(b"moved before the crash")
    store = LocalObjectStore(root)
    assert [o.key for o in store.list("bkt")] == ["b", "done.txt", "half/way.txt"]
    assert not (root / ".stepmap-migrating").exists()


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
    assert [f.name for f in _object_files(Path(store.root))] == ["k"]


def test_etag_follows_a_file_changed_by_hand(store: LocalObjectStore) -> None:
    store.put("bkt", "hand", b"before")
    path = Path(store.root, "bkt", "hand")
    path.write_bytes(b"after, and longer")
    assert store.head("bkt", "hand").etag == f'"{hashlib.md5(b"after, and longer").hexdigest()}"'


def test_long_keys_work_under_a_deep_root(fast_tmp: Path) -> None:
    # Every path is opened relative to its folder, so root + key may exceed PATH_MAX (4096).
    deep = fast_tmp / ("d" * 200) / ("e" * 200) / ("f" * 200) / ("g" * 200) / ("h" * 200)
    store = LocalObjectStore(deep)
    store.create_bucket("bkt")
    keys = ["\x01" * 1024, "/".join(["p" * 200] * 5)]
    for key in keys:
        store.put("bkt", key, b"v")
        assert store.get("bkt", key) == b"v"
    assert [o.key for o in store.list("bkt")] == sorted(keys)
    for key in keys:
        store.delete("bkt", key)
    assert list(store.list("bkt")) == []


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
        for f in _object_files(Path(tmp)):
            inside = f.resolve()
            assert inside.is_relative_to(Path(tmp, "prop").resolve()) or inside.is_relative_to(
                Path(tmp, ESCAPED_DIR, "prop").resolve()
            )


def test_a_read_only_old_store_is_refused_not_misread(
    fast_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = fast_tmp / "old"
    _write_old_layout(root, "bkt", ["dir/file.csv"])

    def read_only(root: str) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("stepmap.storage.migrate._open_lock", read_only)
    with pytest.raises(StoreError, match="old store layout"):
        LocalObjectStore(root)
    (root / "bkt" / "dir%").rename(root / "bkt" / "dir")  # now a plain bucket: read as it is
    assert [o.key for o in LocalObjectStore(root).list("bkt")] == ["dir/file.csv"]
