"""The Store: per-run directories, round trips on local disk and memory://, guarded deletes, caching."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from sagespark.distributed.store import Store, default_store_root


def _make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "manifest.json": b'{"format_version": 1}',
        "payload/weights.npy": bytes(range(256)) * 40,
        "payload/deep/er/notes.txt": "état\n".encode(),
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(params=["local", "file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return Store.from_uri(tmp_path / "store")
    if request.param == "file":
        return Store.from_uri(f"file://{tmp_path}/store")
    return Store.from_uri(f"memory://sagespark-test-{tmp_path.name}/store")


def test_round_trip_preserves_every_file(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = _make_tree(src)
    run = store.new_run_uri("kmeans")
    store.upload_dir(src, run)
    dest = tmp_path / "dest"
    store.download_dir(run, dest)
    assert _read_tree(dest) == files
    assert _read_tree(store.local_copy(run)) == files


def test_run_uris_are_unique_children_of_the_root(store: Store) -> None:
    runs = {store.new_run_uri("kmeans") for _ in range(20)}
    assert len(runs) == 20
    for run in runs:
        parent, _, name = run.rpartition("/")
        assert parent == store.uri
        assert name.startswith("kmeans-")
        assert store.exists(run)
    # No run directory's name is a prefix of another's (the sagemaker-spark deletion bug).
    names = sorted(r.rpartition("/")[2] for r in runs)
    assert not any(b.startswith(a) for a, b in zip(names, names[1:]))


def test_run_names_are_sanitised(store: Store) -> None:
    run = store.new_run_uri("../../etc/passwd x")
    assert run.rpartition("/")[0] == store.uri
    assert ".." not in run.rpartition("/")[2].split("-")[0]


def test_delete_removes_only_its_own_run(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = _make_tree(src)
    first, second = store.new_run_uri("job"), store.new_run_uri("job")
    store.upload_dir(src, first)
    store.upload_dir(src, second)
    store.delete(first)
    assert not store.exists(first)
    assert store.exists(second)
    dest = tmp_path / "dest"
    store.download_dir(second, dest)
    assert _read_tree(dest) == files


@pytest.mark.parametrize("target", ["", "/payload", "/../other"])
def test_delete_refuses_anything_but_a_run_directory(store: Store, target: str) -> None:
    run = store.new_run_uri("job")
    with pytest.raises(ValueError, match="Refusing to delete"):
        store.delete(run + target if target else store.uri)
    with pytest.raises(ValueError, match="Refusing to delete"):
        store.delete(run.rpartition("/")[0] + "/job")  # a prefix of the run's name
    assert store.exists(run)


def test_download_of_missing_uri_says_so(store: Store, tmp_path: Path) -> None:
    missing = store.uri + "/nothing-here"
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        store.download_dir(missing, tmp_path / "dest")
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        store.local_copy(missing)


def test_local_copy_is_cached_per_process(tmp_path: Path) -> None:
    store = Store.from_uri(f"memory://sagespark-cache-{tmp_path.name}")
    src = tmp_path / "src"
    _make_tree(src)
    run = store.new_run_uri("cached")
    store.upload_dir(src, run)
    first = store.local_copy(run)
    # A second Store for the same root (as each Spark task builds) reuses the same download.
    assert Store.from_uri(store.uri).local_copy(run) == first
    store.delete(run)
    assert not first.exists()


def test_local_store_returns_the_stored_directory(tmp_path: Path) -> None:
    store = Store.from_uri(tmp_path)
    run = store.new_run_uri("x")
    assert store.local_copy(run) == Path(run)


def test_upload_rejects_symlinks_and_non_directories(tmp_path: Path) -> None:
    store = Store.from_uri(tmp_path / "store")
    src = tmp_path / "src"
    _make_tree(src)
    (src / "link").symlink_to("/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        store.upload_dir(src, store.new_run_uri("x"))
    with pytest.raises(NotADirectoryError):
        store.upload_dir(src / "manifest.json", store.new_run_uri("x"))


def test_store_pickles_as_its_uri(tmp_path: Path) -> None:
    store = Store.from_uri(tmp_path)
    clone = pickle.loads(pickle.dumps(store))
    assert clone.uri == store.uri and clone.is_local


def test_default_store_is_under_the_system_temp_dir() -> None:
    store = Store.from_uri(None)
    assert store.uri == str(default_store_root().resolve())
    assert store.is_local


@pytest.mark.parametrize("spelling", ["file://{}", "file:{}", "{}/./"])
def test_local_spellings_name_the_same_directory(tmp_path: Path, spelling: str) -> None:
    store = Store.from_uri(spelling.format(tmp_path))
    assert store.uri == str(tmp_path.resolve()) and store.is_local
    run = store.new_run_uri("x")
    assert Path(run).is_dir() and Path(run).parent == tmp_path.resolve()
    # A run URI given in Hadoop's spelling reads the same directory.
    assert store.local_copy("file:" + run) == Path(run)


def test_unknown_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nosuchfs://x"):
        Store.from_uri("nosuchfs://x")
