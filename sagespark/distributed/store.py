"""Where training runs put their model artifacts: a local directory or any pyarrow / fsspec filesystem.

Each training run writes into its own, freshly named directory (``<name>-<UTC time>-<random hex>``) under
the store's root, and :meth:`Store.delete` removes exactly one such directory. Nothing is ever listed or
deleted by prefix: sagemaker-spark once removed other jobs' data by deleting every key that merely
*started with* a job's name.

Rank 0 of a training stage uploads the artifact; every Spark Python worker that scores with the model
downloads it once (:meth:`Store.local_copy` caches one local copy per URI per process). Model bytes
never pass through the driver.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from sagespark.distributed.store import Store
>>> store = Store.from_uri(tempfile.mkdtemp())
>>> run = store.new_run_uri("kmeans")
>>> src = Path(tempfile.mkdtemp()); _ = (src / "manifest.json").write_text("{}")
>>> store.upload_dir(src, run)
>>> sorted(p.name for p in store.local_copy(run).iterdir())
['manifest.json']
>>> store.delete(run)
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import os
import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

__all__ = ["Store", "default_store_root"]

_RUN_NAME = re.compile(r"^[A-Za-z0-9_.-]+-\d{8}-\d{6}-[0-9a-f]{12}$")
_COPY_CHUNK = 8 << 20
# Written last by upload_dir, so a reader that finds the manifest finds a complete artifact.
_LAST_FILES = ("manifest.json",)


def default_store_root() -> Path:
    """The local store used when no URI is given: ``<system temp dir>/sagespark-store``."""
    return Path(tempfile.gettempdir()) / "sagespark-store"


def _local_path(uri: str) -> str | None:
    """The absolute local path of ``uri`` when it names the local disk, else ``None``.

    Accepts plain paths and ``file:`` URIs in both the standard (``file:///tmp/x``) and Hadoop's
    (``file:/tmp/x``) spelling, which Spark users meet in qualified paths.
    """
    if uri.startswith("file:"):
        return str(Path(urlparse(uri).path or "/").resolve())
    if "://" not in uri:
        return str(Path(uri).expanduser().resolve())
    return None


def _resolve(uri: str) -> tuple[pafs.FileSystem, str]:
    """A filesystem and the path inside it for ``uri`` (a local path or a filesystem URI)."""
    local = _local_path(uri)
    if local is not None:
        return pafs.LocalFileSystem(), local
    # pyarrow's native filesystems (file, s3, gs, hdfs, abfs) are the fastest and need no extra package;
    # any other scheme (memory://, gcs via gcsfs, ...) goes to fsspec.
    with contextlib.suppress(pa.ArrowInvalid):
        fs, path = pafs.FileSystem.from_uri(uri)
        return fs, path.rstrip("/") or "/"
    import fsspec

    try:
        fsspec_fs, path = fsspec.core.url_to_fs(uri)
    except (ImportError, ValueError) as err:
        raise ValueError(
            f"Cannot open store URI {uri!r}: neither pyarrow nor fsspec knows its filesystem ({err})."
        ) from err
    return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec_fs)), path.rstrip("/") or "/"


class Store:
    """A root directory on some filesystem, holding one sub-directory per training run.

    Build one with :meth:`from_uri`. A store pickles as its URI, so Spark tasks rebuild it on executors.

    Parameters
    ----------
    uri : str
        The root: a local path, ``file:`` URI, ``s3://``, ``gs://``, ``hdfs://``, ``memory://`` (tests) or any
        URI fsspec understands.

    Examples
    --------
    >>> from sagespark.distributed.store import Store
    >>> Store.from_uri("memory://sagespark-doc").uri
    'memory://sagespark-doc'
    """

    def __init__(self, uri: str) -> None:
        local = _local_path(uri)
        self.uri = uri.rstrip("/") if local is None else local
        self.fs, self._root_path = _resolve(self.uri)

    @classmethod
    def from_uri(cls, uri: str | os.PathLike[str] | None = None) -> Store:
        """The store at ``uri``; ``None`` gives :func:`default_store_root` on the local disk."""
        return cls(str(default_store_root() if uri is None else uri))

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (Store, (self.uri,))

    def __repr__(self) -> str:
        return f"Store({self.uri!r})"

    @property
    def is_local(self) -> bool:
        """Whether the store lives on this machine's local filesystem."""
        return isinstance(self.fs, pafs.LocalFileSystem)

    # -- paths -----------------------------------------------------------------------------
    def _path(self, uri: str) -> tuple[pafs.FileSystem, str]:
        uri = _local_path(uri) or uri
        if uri == self.uri or uri.startswith(self.uri + "/"):
            return self.fs, self._root_path + uri[len(self.uri) :].rstrip("/")
        return _resolve(uri)

    def new_run_uri(self, name: str) -> str:
        """Create and return a new, unique run directory ``<root>/<name>-<UTC time>-<random hex>``.

        The random part makes every run's directory distinct from, and never a prefix of, another's.
        """
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
        uri = f"{self.uri}/{safe}-{stamp}-{uuid.uuid4().hex[:12]}"
        fs, path = self._path(uri)
        fs.create_dir(path, recursive=True)
        return uri

    def exists(self, uri: str) -> bool:
        """Whether anything (file or directory) is stored at ``uri``."""
        fs, path = self._path(uri)
        return fs.get_file_info(path).type != pafs.FileType.NotFound

    # -- transfers -------------------------------------------------------------------------
    def upload_dir(self, local: str | os.PathLike[str], uri: str) -> None:
        """Copy the local directory ``local`` (recursively) to ``uri``; ``manifest.json`` goes last.

        Raises
        ------
        NotADirectoryError
            When ``local`` is not a directory.
        ValueError
            When ``local`` holds a symbolic link (artifacts are plain files only).
        """
        local = Path(local)
        if not local.is_dir():
            raise NotADirectoryError(f"Cannot upload {local}: it is not a directory.")
        fs, base = self._path(uri)
        files: list[Path] = []
        for path in sorted(local.rglob("*")):
            if path.is_symlink():
                raise ValueError(f"Cannot upload {local}: {path} is a symbolic link.")
            if path.is_file():
                files.append(path)
        files.sort(key=lambda p: (p.relative_to(local).as_posix() in _LAST_FILES, p.as_posix()))
        fs.create_dir(base, recursive=True)
        for path in files:
            target = f"{base}/{path.relative_to(local).as_posix()}"
            fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
            with open(path, "rb") as src, fs.open_output_stream(target) as dst:
                shutil.copyfileobj(src, dst, _COPY_CHUNK)

    def download_dir(self, uri: str, local: str | os.PathLike[str]) -> None:
        """Copy the directory at ``uri`` (recursively) into the local directory ``local``.

        Raises
        ------
        FileNotFoundError
            When nothing is stored at ``uri``.
        """
        fs, base = self._path(uri)
        info = fs.get_file_info(base)
        local = Path(local)
        local.mkdir(parents=True, exist_ok=True)
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(f"Nothing is stored at {uri!r}.")
        if info.type == pafs.FileType.File:
            self._download_file(fs, base, local / base.rsplit("/", 1)[-1])
            return
        for entry in fs.get_file_info(pafs.FileSelector(base, recursive=True)):
            relative = entry.path[len(base) :].lstrip("/")
            if not relative or ".." in relative.split("/"):
                continue
            target = local / relative
            if entry.type == pafs.FileType.Directory:
                target.mkdir(parents=True, exist_ok=True)
            elif entry.type == pafs.FileType.File:
                self._download_file(fs, entry.path, target)

    @staticmethod
    def _download_file(fs: pafs.FileSystem, path: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with fs.open_input_stream(path) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, _COPY_CHUNK)

    def local_copy(self, uri: str) -> Path:
        """A local path holding what is stored at ``uri``, downloaded at most once per process.

        Local stores return the stored path itself. Artifacts are immutable once written, so the cached
        copy stays valid for the life of the process (it is removed when the process exits).
        """
        fs, path = self._path(uri)
        if isinstance(fs, pafs.LocalFileSystem):
            if fs.get_file_info(path).type == pafs.FileType.NotFound:
                raise FileNotFoundError(f"Nothing is stored at {uri!r}.")
            return Path(path)
        return _cached_download(self, uri)

    def delete(self, uri: str) -> None:
        """Delete one run directory made by :meth:`new_run_uri` (and nothing else).

        Raises
        ------
        ValueError
            When ``uri`` is not a run directory directly under this store's root; this guard is what keeps
            a mistaken URI from deleting the root or another job's data.
        """
        uri = _local_path(uri) or uri.rstrip("/")
        parent, _, name = uri.rpartition("/")
        if parent != self.uri or not _RUN_NAME.match(name):
            raise ValueError(
                f"Refusing to delete {uri!r}: only run directories made by new_run_uri() directly under "
                f"{self.uri!r} may be deleted."
            )
        fs, path = self._path(uri)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.Directory:
            fs.delete_dir(path)
        elif info.type == pafs.FileType.File:
            fs.delete_file(path)
        _forget_cached(uri)


# -- per-process cache of downloaded copies ---------------------------------------------------
_CACHE_LOCK = threading.Lock()
_CACHE: dict[str, Path] = {}
_CACHE_ROOT: list[Path] = []


def _cache_root() -> Path:
    if not _CACHE_ROOT:
        root = Path(tempfile.mkdtemp(prefix="sagespark-cache-"))
        atexit.register(shutil.rmtree, root, True)
        _CACHE_ROOT.append(root)
    return _CACHE_ROOT[0]


def _cached_download(store: Store, uri: str) -> Path:
    # One lock for the whole download: concurrent scoring threads of one worker wait for the first
    # download instead of fetching the same model several times.
    with _CACHE_LOCK:
        cached = _CACHE.get(uri)
        if cached is not None and cached.exists():
            return cached
        staging = Path(tempfile.mkdtemp(dir=_cache_root(), prefix="partial-"))
        try:
            store.download_dir(uri, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        fs, path = store._path(uri)
        if fs.get_file_info(path).type == pafs.FileType.File:
            result = staging / path.rsplit("/", 1)[-1]
        else:
            result = staging
        _CACHE[uri] = result
        return result


def _forget_cached(uri: str) -> None:
    with _CACHE_LOCK:
        cached = _CACHE.pop(uri, None)
    if cached is not None:
        shutil.rmtree(cached if cached.is_dir() else cached.parent, ignore_errors=True)
