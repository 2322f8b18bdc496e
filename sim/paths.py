"""Every path Safehaven reads or writes goes through here.

Four rules, one function each:

* :func:`read_bytes` — read a regular file and nothing else (no directory, device, FIFO, socket,
  symbolic link loop), at most *limit* bytes, without hanging on a FIFO; problems are located
  :class:`~sim.errors.InputError` records that never quote the file's content.
* :func:`inside` — a path *stored* in something Safehaven wrote (a manifest, a sweep's settings) is
  hostile until shown otherwise: it must be a relative POSIX path, already normalized, with no ``..``,
  and stay inside its root once symbolic links are followed.
* :func:`check_output` — an output path given on the command line must be creatable (its name short
  enough for the temporary names built beside it, not under ``/proc``, ``/sys`` or ``/dev``, not the
  current directory or one of its parents) and must not contain, or be, an input of the same command.
* :func:`atomic_write` and :func:`replace_directory` — outputs appear whole or not at all; a
  directory replaced with ``--force`` follows a recovery rule (:func:`recover_directory`) so that a
  kill between its renames loses nothing: the next command that reads or writes the directory puts
  the newest complete version in place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from sim.errors import InputError, Problem, UsageError

__all__ = [
    "MAX_NAME",
    "atomic_output",
    "atomic_write",
    "check_output",
    "inside",
    "read_bytes",
    "recover_directory",
    "reference",
    "replace_directory",
    "require_inside",
    "temporary_directory",
]

MAX_NAME = 200
"""Longest file or directory name accepted for an output [characters]; file systems allow 255 bytes
and the temporary names built beside an output add up to 40."""
_SYSTEM = ("/proc", "/sys", "/dev")
_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFCHR: "a character device (such as /dev/zero)",
          stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO or pipe (such as /dev/stdin)",
          stat.S_IFSOCK: "a socket"}


def _refuse(display: str, message: str) -> InputError:
    return InputError(Problem(display, 0, "", message))


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (or a chain of more than 40 links); expected a file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is not a directory"
    return f"cannot read the file: {exc.strerror or exc}"


def read_bytes(path: str | Path, *, limit: int, display: str | None = None, what: str = "file") -> bytes:
    """The bytes of the regular file *path*, at most *limit* of them.

    Parameters
    ----------
    path : str or Path
        The file.
    limit : int
        Largest size accepted [bytes].
    display : str, optional
        The name used in messages (default: *path* as given).
    what : str
        What the file is, for messages ("file", "station file", ...).

    Raises
    ------
    InputError
        If *path* does not exist, is not a regular file, cannot be read or is larger than *limit*.
    """
    name = display or str(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _refuse(name, _os_reason(exc)) from None
    except (ValueError, TypeError):  # a NUL byte in the name
        raise _refuse(name, "not a usable path (it holds a NUL character)") from None
    try:
        st = os.fstat(fd)
        kind = stat.S_IFMT(st.st_mode)
        if kind != stat.S_IFREG:
            raise _refuse(name, f"is {_KINDS.get(kind, 'not a regular file')}, expected a {what}")
        if st.st_size > limit:
            raise _refuse(name, f"file is {st.st_size:,} bytes, larger than the {limit:,} accepted")
        chunks, size = [], 0
        while size <= limit:  # the file may grow while it is read: read one byte past the limit at most
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise _refuse(name, f"{what} grew past the {limit:,} bytes accepted while it was read")
        return b"".join(chunks)
    except OSError as exc:
        raise _refuse(name, _os_reason(exc)) from None
    finally:
        os.close(fd)


def reference(base: str | Path, relative: str) -> Path:
    """The file a YAML file names by *relative* (to its folder *base*), resolved.

    Raises
    ------
    ValueError
        With the message to show: no such file, a symbolic link loop, or not a regular file.
    """
    target = Path(base) / relative
    try:
        target = target.resolve()
        st = target.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ValueError(f"no such file '{relative}' (looked for {target})") from None
    except (RuntimeError, OSError) as exc:  # pathlib raises RuntimeError on a loop in Python < 3.13
        reason = _os_reason(exc) if isinstance(exc, OSError) else _os_reason(OSError(errno.ELOOP, ""))
        raise ValueError(f"'{relative}': {reason}") from None
    kind = stat.S_IFMT(st.st_mode)
    if kind != stat.S_IFREG:
        raise ValueError(f"'{relative}' is {_KINDS.get(kind, 'not a regular file')}, expected a YAML file")
    return target


_NORMAL = re.compile(r"[^\x00-\x1f\x7f\\]+")


def inside(root: str | Path, stored, *, display: str, what: str = "path") -> Path:
    """The path *stored* (read from an artefact) under *root*, refused unless it stays inside.

    Parameters
    ----------
    root : str or Path
        The directory the path must stay in.
    stored : Any
        The value read from the artefact (hostile: any type).
    display : str
        The artefact that holds the value, for messages (``DIR/inputs/manifest.json``).
    what : str
        What the value names, for messages.

    Raises
    ------
    InputError
        If *stored* is not a non-empty relative normalized POSIX path, or leads outside *root*
        (through ``..`` or a symbolic link).
    """
    if not isinstance(stored, str) or not stored:
        raise _refuse(display, f"the {what} must be a relative path (text), got {_kind_of(stored)}")
    shown = stored if len(stored) <= 80 else stored[:60] + "..."
    if not _NORMAL.fullmatch(stored):
        raise _refuse(display, f"the {what} {shown!r} holds a control character or a backslash")
    pure = PurePosixPath(stored)
    if pure.is_absolute() or ".." in pure.parts or pure.as_posix() != stored or stored.startswith("./"):
        raise _refuse(display, f"the {what} {shown!r} must be a normalized relative path inside "
                               f"{Path(root).name or root}/ (no leading '/', no '..' or '.' parts)")
    full = Path(root, *pure.parts)
    real_root = os.path.realpath(root)
    try:
        real = os.path.realpath(full, strict=False)
    except (OSError, RuntimeError):
        raise _refuse(display, f"the {what} {shown!r} is a symbolic link loop") from None
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise _refuse(display, f"the {what} {shown!r} leads outside {root} (through a symbolic link)")
    return full


def require_inside(root: str | Path, paths: Iterable[Path], *, display: str) -> None:
    """Refuse when any of *paths* (files a load read) is outside *root* once links are followed."""
    real_root = os.path.realpath(root).rstrip(os.sep) + os.sep
    for p in paths:
        if not os.path.realpath(p).startswith(real_root):
            raise _refuse(display, f"reads {p}, outside {root}; a stored run reads only its own inputs/")


def _kind_of(value) -> str:
    if value is None:
        return "nothing"
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__)


def _is_within(a: Path, b: Path) -> bool:
    """Whether *a* is *b* or inside it (both absolute, links followed)."""
    return a == b or b in a.parents


def check_output(path: str | Path, *, option: str = "--out", inputs: Iterable[str | Path] = (),
                 directory: bool = True, force: bool = False) -> Path:
    """Refuse an output path that cannot be written safely, before any work starts.

    Parameters
    ----------
    path : str or Path
        The output as given.
    option : str
        The option that named it, for messages.
    inputs : iterable of paths
        Files the same command reads: the output may neither be one nor contain one.
    directory : bool
        Whether the output is a directory (else a file).
    force : bool
        Whether an existing output will be replaced (then it must be of the same kind).

    Raises
    ------
    UsageError
        Naming the problem and what would be accepted.
    """
    text = os.fspath(path)
    if not text or "\x00" in text:
        raise UsageError(f"{option} must name a path, got {text!r}")
    p = Path(text)
    for part in p.parts:
        if len(part) > MAX_NAME:
            raise UsageError(f"{option}: the name {part[:40]}... is {len(part)} characters long; "
                             f"at most {MAX_NAME} are accepted")
    absolute = Path(os.path.realpath(p))
    cwd = Path(os.path.realpath(os.getcwd()))
    if directory and _is_within(cwd, absolute):
        raise UsageError(f"{option} {text} is the current directory or one of its parents; "
                         f"name a new directory, e.g. {option} runs/NAME")
    for root in _SYSTEM:
        if _is_within(absolute, Path(root)):
            raise UsageError(f"{option} {text} is under {root}, which holds no files one can write; "
                             f"choose another place")
    for src in inputs:
        real = Path(os.path.realpath(src))
        if _is_within(real, absolute):
            raise UsageError(f"{option} {text} {'is' if real == absolute else 'holds'} {src}, an input of "
                             f"this command; writing there would destroy it. Choose another {option}")
    if p.is_symlink() or p.exists():
        if directory and not p.is_dir():
            raise UsageError(f"{option} {text} exists and is not a directory")
        if not directory and p.is_dir():
            raise UsageError(f"{option} {text} is a directory; name a file (in it, or beside it)")
        if p.is_symlink():
            raise UsageError(f"{option} {text} is a symbolic link; name the place itself")
    parent = absolute.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {text}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {text}: cannot write in {parent} (permission denied)")
    return p


# -- writing whole or not at all -------------------------------------------------------------------
def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write *data* to *path* through a temporary file beside it, flushed and renamed into place.

    A kill at any instant leaves the previous file or the new one, never a part of either; the
    temporary file (``.NAME.PID.tmp``) is removed on any error.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path with *path*'s suffix to write to; renamed onto *path* when the block ends well.

    For writers that take a file name (matplotlib's ``savefig`` picks the format from the suffix).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# A directory output DIR is built as .DIR.PID.RAND.partial, renamed .DIR.PID.RAND.ready when whole;
# a previous DIR is moved to .DIR.PID.RAND.old before the ready one takes its place, then deleted.
# The writer's pid is in the name, so a later command can tell an abandoned one from a live one.
_STAGES = ("partial", "ready", "old")


def temporary_directory(out: Path) -> Path:
    """A new, empty ``.NAME.PID.RAND.partial`` directory beside *out* to build it in."""
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}.", suffix=".partial", dir=out.parent))


def _leftovers(out: Path) -> dict[str, list[Path]]:
    """Abandoned temporary directories of *out*, by stage, newest first."""
    found: dict[str, list[Path]] = {s: [] for s in _STAGES}
    if not out.parent.is_dir():
        return found
    pattern = re.compile(re.escape(f".{out.name}.") + r"(\d+)\.[^.]+\.(partial|ready|old)")
    for p in out.parent.iterdir():
        m = pattern.fullmatch(p.name)
        if m and p.is_dir() and not p.is_symlink() and not _alive(int(m.group(1))):
            found[m.group(2)].append(p)
    for stage in found.values():
        stage.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
    return found


def recover_directory(out: str | Path) -> str | None:
    """Finish or undo an interrupted replacement of *out*; returns what was done (None: nothing).

    The rule: a ``.ready`` directory is a complete new version — it takes *out*'s place (the version
    it replaces is deleted, as ``--force`` asked); otherwise, when *out* is missing, the newest
    ``.old`` is put back. Abandoned ``.partial`` directories (incomplete) and the remaining ``.old``
    ones are deleted. Directories of a writer still running are left alone.
    """
    out = Path(out)
    left = _leftovers(out)
    did = None
    if left["ready"]:
        newest = left["ready"].pop(0)
        if out.exists():
            old = newest.with_name(newest.name.removesuffix(".ready") + ".old")
            os.replace(out, old)
            left["old"].append(old)
        os.replace(newest, out)
        did = f"finished an interrupted replacement of {out}"
    elif not out.exists() and left["old"]:
        os.replace(left["old"].pop(0), out)
        did = f"restored {out} after an interrupted replacement"
    for p in left["partial"] + left["ready"] + left["old"]:
        shutil.rmtree(p, ignore_errors=True)
    return did


def replace_directory(tmp: Path, out: Path) -> None:
    """Put the complete directory *tmp* (from :func:`temporary_directory`) at *out*, replacing it.

    Every step is one rename; a kill between any two is undone by :func:`recover_directory`.
    """
    ready = tmp.with_name(tmp.name.removesuffix(".partial") + ".ready")
    os.replace(tmp, ready)
    if out.exists():
        old = tmp.with_name(tmp.name.removesuffix(".partial") + ".old")
        os.replace(out, old)
        os.replace(ready, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(ready, out)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
