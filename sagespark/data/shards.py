"""Where RecordIO-protobuf shards live: filesystems, listing, and the staged commit of a write.

Paths are local paths or any URI pyarrow's filesystems understand (``file://``, ``s3://``, ``hdfs://``,
``gs://``). A write stages each task's shard under ``<path>/_temporary/<job>/`` and moves the shards of
the committed tasks into ``<path>`` only when the whole job succeeds, so readers never see a partial
write and a failed job leaves the directory as it was.

Examples
--------
>>> from sagespark.data.shards import shard_name
>>> shard_name(3, "0123abcd")
'part-00003-0123abcd.pbr'
"""

from __future__ import annotations

import os
import posixpath

import pyarrow.fs as pafs

__all__ = [
    "SHARD_SUFFIXES",
    "STAGING_DIR",
    "resolve",
    "list_shards",
    "shard_name",
    "clear_directory",
]

SHARD_SUFFIXES = (".pbr", ".rec")
"""File name endings read from a directory (a path naming a file is read whatever its name)."""
STAGING_DIR = "_temporary"


def resolve(path: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding ``path`` and the path within it (local paths made absolute).

    Examples
    --------
    >>> fs, p = resolve("/tmp/shards")
    >>> type(fs).__name__, p
    ('LocalFileSystem', '/tmp/shards')
    """
    if "://" in path:
        return pafs.FileSystem.from_uri(path)
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(path))


def _hidden(name: str) -> bool:
    # Hadoop's convention, which Spark's file sources follow: _SUCCESS, _temporary, .crc files.
    return name.startswith(("_", "."))


def list_shards(fs: pafs.FileSystem, path: str) -> list[str]:
    """Every shard file under ``path`` (recursively, sorted), or ``[path]`` when it is a file.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pyarrow.fs as pafs
    >>> list_shards(pafs.LocalFileSystem(), tempfile.mkdtemp())
    []
    """
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"No RecordIO-protobuf data at {path!r}: the path does not exist.")
    if info.type == pafs.FileType.File:
        return [path]
    found = []
    for entry in fs.get_file_info(pafs.FileSelector(path, recursive=True)):
        if entry.type != pafs.FileType.File:
            continue
        relative = posixpath.relpath(entry.path, path)
        if any(_hidden(part) for part in relative.split("/")):
            continue
        if entry.base_name.endswith(SHARD_SUFFIXES):
            found.append(entry.path)
    return sorted(found)


def shard_name(partition: int, job_id: str) -> str:
    """The final name of a partition's shard: unique per job, ordered by partition like Spark's.

    Examples
    --------
    >>> shard_name(12, "ff")
    'part-00012-ff.pbr'
    """
    return f"part-{partition:05d}-{job_id}.pbr"


def clear_directory(fs: pafs.FileSystem, path: str, *, keep: str | None = None) -> None:
    """Delete everything inside ``path`` except the entry named ``keep`` (overwrite mode).

    Examples
    --------
    >>> import tempfile, pyarrow.fs as pafs
    >>> clear_directory(pafs.LocalFileSystem(), tempfile.mkdtemp())
    """
    for entry in fs.get_file_info(pafs.FileSelector(path)):
        if entry.base_name == keep:
            continue
        if entry.type == pafs.FileType.Directory:
            fs.delete_dir(entry.path)
        else:
            fs.delete_file(entry.path)
