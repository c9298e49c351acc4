"""``savedmodel-cli show``: ``saved_model_cli show`` with the same flags and output."""

from __future__ import annotations

import argparse
from typing import Any

from savedmodel_io.cli import common, show_format
from savedmodel_io.errors import InvalidArgumentError
from savedmodel_io.saved_model import loader


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = common.add_command(
        subparsers, "show", "show tag-sets, signatures, ops and functions of a SavedModel",
        "Print what a SavedModel holds, exactly as TensorFlow's `saved_model_cli show` does "
        "(the ops line is sorted).",
        ["savedmodel-cli show --dir /tmp/saved_model",
         "savedmodel-cli show --dir /tmp/saved_model --tag_set serve",
         "savedmodel-cli show --dir /tmp/saved_model --tag_set serve,gpu --list_ops",
         "savedmodel-cli show --dir /tmp/saved_model --tag_set serve "
         "--signature_def serving_default",
         "savedmodel-cli show --dir /tmp/saved_model --all --json"])
    p.add_argument("--dir", required=True, help="directory containing the SavedModel")
    p.add_argument("--all", action="store_true",
                   help="everything: every MetaGraphDef, signature, op and function")
    p.add_argument("--tag_set", help="comma-separated tags of one MetaGraphDef, e.g. serve,gpu")
    p.add_argument("--signature_def", metavar="KEY",
                   help="show the inputs and outputs of this SignatureDef (needs --tag_set)")
    p.add_argument("--list_ops", action="store_true",
                   help="list the ops the MetaGraphDef uses (with --tag_set)")
    p.add_argument("--json", action="store_true", help="print JSON instead of TensorFlow's text")


def _sanitized(tag_set: str) -> str:
    tags = [t.strip() for t in tag_set.split(",") if t.strip()]
    if not tags:
        raise InvalidArgumentError("tag_set must contain at least one non-empty item.")
    return ",".join(tags)


def _json(args: argparse.Namespace) -> dict[str, Any]:
    saved_model = loader.parse_saved_model(args.dir)
    if args.all:
        return show_format.show_all_json(saved_model)
    if args.tag_set is None:
        return {"tag_sets": sorted(sorted(m.meta_info_def.tags)
                                   for m in saved_model.meta_graphs)}
    tag_set = _sanitized(args.tag_set) if args.list_ops or args.signature_def else args.tag_set
    meta = loader.get_meta_graph_def(args.dir, tag_set)
    out = show_format.meta_graph_json(meta, ops=args.list_ops)
    if args.signature_def is not None:
        out["signature_def"] = args.signature_def
        out.update(show_format.signature_json(meta, args.signature_def))
        del out["signature_defs"]
    else:
        out["signature_keys"] = sorted(out.pop("signature_defs"))
    return out


def main(args: argparse.Namespace) -> int:
    common.saved_model_dir(args.dir)
    if args.json:
        common.write_json(_json(args))
        return 0
    if args.all:
        common.write(show_format.show_all_text(loader.parse_saved_model(args.dir)))
        return 0
    if args.tag_set is None:
        if args.list_ops:
            common.write("--list_ops must be paired with a tag-set or with --all.\n")
        common.write(show_format.tag_sets_text(loader.parse_saved_model(args.dir)))
        return 0
    if args.list_ops:
        meta = loader.get_meta_graph_def(args.dir, _sanitized(args.tag_set))
        common.write(show_format.ops_line(meta))
    if args.signature_def is None:
        meta = loader.get_meta_graph_def(args.dir, args.tag_set)
        common.write(show_format.signature_keys_text(meta))
    else:
        meta = loader.get_meta_graph_def(args.dir, _sanitized(args.tag_set))
        common.write(show_format.signature_text(meta, args.signature_def))
    return 0
