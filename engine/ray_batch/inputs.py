"""What a Ray batch describes: the input (a folder, a text file of paths, or a glob on any filesystem that
pyarrow reads) turned into a sorted list of images, cut into shards with deterministic IDs.

A shard is the unit of "done": its records are written together, once. Its ID is a hash of its paths and
of the settings that change a record (model, detail, OCR), so the same command finds the same shards on a
rerun, and a rerun with another model never mistakes old results for new ones.

Pure functions; nothing here needs Ray (the driver and the tests call them directly).
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _

GLOB_CHARS = frozenset("*?[")
LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})


@dataclass(frozen=True)
class Image:
    rel: str  # the path written in the records (relative to the folder, as local batch writes it)
    source: str  # what a worker opens: an absolute local path, or a URI pyarrow understands


@dataclass(frozen=True)
class Shard:
    id: str
    images: tuple[Image, ...]


@dataclass
class Inputs:
    label: str  # the input as the user gave it, for messages and the JSON output's "folder"
    images: list[Image]


def _is_uri(text: str) -> bool:
    head, sep, _rest = text.partition("://")
    return bool(sep) and head.isascii() and head.replace("+", "").isalnum() and len(head) > 1


def _uri_root(uri: str) -> tuple[str, str]:
    """("s3://bucket/photos/2024", "") -> (scheme + "://", "bucket/photos/2024") style split."""
    scheme, _sep, rest = uri.partition("://")
    return scheme + "://", rest


def _glob_base(pattern: str) -> str:
    """The part of a glob before its first wildcard segment (what it is relative to)."""
    parts = PurePosixPath(pattern).parts
    base: list[str] = []
    for part in parts:
        if GLOB_CHARS & set(part):
            break
        base.append(part)
    return str(PurePosixPath(*base)) if base else "."


def list_glob(pattern: str, extensions: frozenset[str]) -> Inputs:
    """Every image matching `pattern`, locally or on a pyarrow filesystem (s3://, gs://, hdfs://...)."""
    from pyarrow import fs as pafs

    if _is_uri(pattern):
        prefix, rest = _uri_root(pattern)
        base = _glob_base(rest)
        filesystem, base_path = pafs.FileSystem.from_uri(prefix + base)
        make_source = (lambda p: prefix + p)  # noqa: E731 - the same scheme reopens it on a worker
        match_pattern = base_path.rstrip("/") + "/" + str(PurePosixPath(rest).relative_to(base))
    else:
        absolute = os.path.abspath(os.path.expanduser(pattern))
        base = _glob_base(absolute)
        filesystem, base_path = pafs.LocalFileSystem(), base
        make_source = (lambda p: p)  # noqa: E731
        match_pattern = absolute
    try:
        infos = filesystem.get_file_info(pafs.FileSelector(base_path, recursive=True, allow_not_found=True))
    except OSError as exc:
        raise UserFacingError(_("The files matching {pattern!r} cannot be listed: {reason}.").format(
            pattern=pattern, reason=exc)) from None
    images = []
    for info in infos:
        if info.type != pafs.FileType.File or PurePosixPath(info.path).suffix.lower() not in extensions:
            continue
        if any(part.startswith(".") for part in PurePosixPath(info.path).relative_to(base_path).parts):
            continue  # hidden, as the folder scan skips them (our journals and temp files)
        if glob_regex(match_pattern).fullmatch(info.path):
            rel = PurePosixPath(info.path).relative_to(base_path).as_posix()
            images.append(Image(rel, make_source(info.path)))
    return Inputs(pattern, sorted(images, key=lambda i: i.rel))


@functools.lru_cache(maxsize=8)
def glob_regex(pattern: str) -> re.Pattern:
    """A shell glob as a regex: "*" and "?" stay within one folder, "**/" spans any number of folders."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1:end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def list_file(list_path: Path) -> Inputs:
    """A text file with one path or URI per line (blank lines and lines starting with # are skipped).
    Relative paths are relative to the list's folder; the records keep them as written."""
    try:
        lines = list_path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserFacingError(_("The list of images {path!r} cannot be read: {reason}.").format(
            path=str(list_path), reason=getattr(exc, "strerror", None) or exc)) from None
    base = list_path.resolve().parent
    seen: set[str] = set()
    images = []
    for line in lines:
        entry = line.strip()
        if not entry or entry.startswith("#") or entry in seen:
            continue  # a path listed twice is described once
        seen.add(entry)
        source = entry if _is_uri(entry) else str(base / os.path.expanduser(entry))
        images.append(Image(entry, source))
    return Inputs(str(list_path), sorted(images, key=lambda i: i.rel))


def list_folder(folder: Path, *, recursive: bool) -> Inputs:
    """A local folder, scanned exactly as local batch scans it (same paths, same order, same skips)."""
    from describe_aloud.engine.batch_inputs import scan_folder

    root = folder.expanduser().resolve()
    return Inputs(str(folder), [Image(rel, str(root / rel)) for rel in scan_folder(root, recursive=recursive)])


def resolve_inputs(given: str, *, recursive: bool) -> Inputs:
    """A folder, a list file (.txt), or a glob / URI; raises UserFacingError (exit code 2) otherwise."""
    from describe_aloud.engine.batch_inputs import image_extensions

    path = Path(given).expanduser()
    if not _is_uri(given) and path.is_dir():
        return list_folder(path, recursive=recursive)
    if not _is_uri(given) and path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        return list_file(path)
    if _is_uri(given) or GLOB_CHARS & set(given):
        if _is_uri(given) and not GLOB_CHARS & set(given):
            given = given.rstrip("/") + ("/**/*" if recursive else "/*")  # a remote folder
        return list_glob(given, image_extensions())
    error = UserFacingError(_("{given!r} is not a folder, a list of images (.txt) or a pattern such as "
                              "'photos/*.jpg'.").format(given=given))
    error.exit_code = 2
    raise error


def make_shards(images: list[Image], size: int, *, settings: str) -> list[Shard]:
    """Fixed-size shards of the sorted images; each ID hashes its paths and `settings`."""
    size = max(1, size)
    shards = []
    for start in range(0, len(images), size):
        chunk = tuple(images[start:start + size])
        digest = hashlib.sha256(settings.encode("utf-8"))
        for image in chunk:
            digest.update(b"\0" + image.rel.encode("utf-8"))
        shards.append(Shard(f"{start // size:06d}-{digest.hexdigest()[:12]}", chunk))
    return shards
