"""Merge several single-writer bundles into one multi-shard bundle, as TensorFlow does.

This is how every sharded checkpoint comes to be: each shard is written as its own bundle
under ``<prefix>_temp/part-0000i-of-0000n``, then :func:`merge_bundles` renames their data
files to ``prefix.data-0000i-of-0000n`` (numbered by first appearance) and writes one index
holding every entry with its shard id rewritten. The index is written last, under a
temporary name, so the merged checkpoint appears only when it is complete.
"""

from __future__ import annotations

from collections.abc import Sequence

from savedmodel_io import fileio
from savedmodel_io.errors import InvalidArgumentError, NotFoundError
from savedmodel_io.format.bundle_entry import (
    BundleEntry,
    BundleHeader,
    data_filename,
    index_filename,
)
from savedmodel_io.format.bundle_reader import BundleReader
from savedmodel_io.format.bundle_writer import write_index


def merge_bundles(prefixes: Sequence[str], merged_prefix: str, *, delete_old_dirs: bool = True,
                  allow_missing_files: bool = False) -> None:
    """Merge the bundles at ``prefixes`` (in shard order) into ``merged_prefix``."""
    if allow_missing_files:
        prefixes = [p for p in prefixes if fileio.exists(index_filename(p))]
    if not prefixes:
        raise InvalidArgumentError("merge_bundles needs at least one input bundle")
    parent = fileio.dirname(merged_prefix)
    if parent:
        fileio.make_dir(parent)
    merged: dict[bytes, BundleEntry] = {}
    renames: dict[tuple[str, int], int] = {}  # (input prefix, shard) -> new shard id
    header: BundleHeader | None = None
    shard_counts: dict[str, int] = {}
    for prefix in prefixes:
        with BundleReader(prefix) as r:
            h = r.header
            shard_counts[prefix] = h.num_shards
            if header is None:
                header = h
            elif (h.big_endian, h.version) != (header.big_endian, header.version):
                raise InvalidArgumentError(
                    "bundles to merge disagree on endianness or format version",
                    path=index_filename(prefix))
            for key, entry in r.entries(include_slices=True):
                old = merged.get(key)
                if old is not None:
                    if not old.slices or not entry.slices:
                        raise InvalidArgumentError(
                            "duplicate tensor in the bundles to merge", path=prefix, key=key)
                    if (old.dtype, old.shape) != (entry.dtype, entry.shape):
                        raise InvalidArgumentError(
                            "slices of a partitioned tensor disagree on dtype or shape",
                            path=prefix, key=key)
                    old.slices.extend(entry.slices)
                    continue
                if not entry.slices:
                    entry.shard_id = renames.setdefault((prefix, entry.shard_id),
                                                        len(renames))
                merged[key] = entry
    assert header is not None
    num_files = len(renames)
    for (prefix, shard), new_id in renames.items():
        src = data_filename(prefix, shard, max(shard_counts[prefix], 1))
        if not fileio.exists(src):
            raise NotFoundError("data file of a bundle to merge is missing", path=src)
        fileio.rename(src, data_filename(merged_prefix, new_id, num_files))
    with fileio.atomic_open(index_filename(merged_prefix)) as f:
        total = sum(shard_counts.values())
        write_index(f, BundleHeader(total, header.big_endian, header.version), merged)
    for prefix in prefixes:
        fileio.remove(index_filename(prefix))
        if delete_old_dirs:
            d = fileio.dirname(prefix)
            if d != parent:
                fileio.remove_dir(d)


__all__ = ["merge_bundles"]
