"""Every ``safehaven …`` command shown in README.md and docs/*.md, run as a user would type it.

The commands are taken from the code blocks of each document (fenced or indented; a ``$ `` prompt
and ``\\`` continuations are understood, ``pip install -e . && safehaven …`` runs its ``safehaven``
part). Each document gets its own temporary copy of the repository, and its commands run there in
document order through the installed ``safehaven`` console script, so a later command can use what
an earlier one wrote. A YAML block whose first line is ``# some/path.yaml`` is a file the reader is
asked to write; it is written into the copy, at its place in the document, before the commands
after it run.

What a command must do: exit 0, or the code its own comment documents (``# exits 1``). A command
that serves forever (``--serve``) must print its URL, answer it with HTTP 200, and is then stopped.

What the test may change, and nothing else: :data:`SHRINK` lowers sizes through documented flags
(``--n`` of a sweep, ``--speed`` of a live drill), so CI stays within a few minutes. A new documented
command is tested by adding it to the docs; a command that cannot run as written is a doc or program
defect to fix, never an entry to skip.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAFEHAVEN = Path(sys.executable).with_name("safehaven")
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TIMEOUT_S = 300
"""A command that runs longer than this [s] fails the test (and is killed)."""
SERVE_TIMEOUT_S = 60
"""How long a ``--serve`` command has to print its URL [s]."""

SHRINK = {"--n": 8, "--speed": 100_000}
"""Documented flags the test may change to keep CI short: ``--n`` is capped at 8 sweep points,
``--speed`` raised to 100,000× (a live drill still runs its whole clock, just faster)."""
_SHRINK_ABOVE = {"--n": lambda v: int(v) > SHRINK["--n"], "--speed": lambda v: float(v) < SHRINK["--speed"]}

_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_EXITS = re.compile(r"\bexits?\s+(?:with\s+)?(?:code\s+)?(\d)\b")
_URL = re.compile(r"https?://[^\s'\"<>]+")


@dataclass(frozen=True)
class Command:
    """One documented command: where it is shown and what it must do."""

    document: Path
    line: int
    text: str  # as shown, continuations joined, without the prompt
    argv: tuple[str, ...]  # what is run: 'safehaven' then the arguments, shrunk
    exit_code: int
    serves: bool

    def where(self) -> str:
        return f"{_shown(self.document)}:{self.line}"


@dataclass(frozen=True)
class WrittenFile:
    """A file the document asks the reader to write (a YAML block starting ``# PATH``)."""

    document: Path
    line: int
    path: str
    text: str


def _shown(document: Path) -> str:
    return str(document.relative_to(REPO)) if document.is_relative_to(REPO) else str(document)


def _blocks(text: str):
    """Yield ``(first_line_number, language, lines)`` of every code block of a Markdown text."""
    lines = text.splitlines()
    i = 0
    previous_blank = True
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence:
            marker, lang = fence.group(1), fence.group(2)
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(marker[:3]):
                j += 1
            yield i + 2, lang, lines[i + 1:j]
            i, previous_blank = j + 1, False
            continue
        if previous_blank and lines[i].startswith("    ") and lines[i].strip() and not _in_list(lines, i):
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            yield i + 1, "", [line[4:] for line in lines[i:j]]
            i, previous_blank = j, False
            continue
        previous_blank = not lines[i].strip()
        i += 1


def _in_list(lines: list[str], i: int) -> bool:
    """Whether the indented line *i* continues a list item (then it is text, not code)."""
    for k in range(i - 1, -1, -1):
        if not lines[k].strip():
            continue
        if lines[k].startswith("    "):
            continue
        return bool(re.match(r"\s*([*+-]|\d+[.)])\s", lines[k]))
    return False


def _logical_lines(lines: list[str], first: int):
    """Yield ``(line_number, text)`` with ``\\`` continuations joined and a ``$ `` prompt removed."""
    k = 0
    while k < len(lines):
        start, text = first + k, lines[k].rstrip()
        while text.endswith("\\") and k + 1 < len(lines):
            k += 1
            text = text[:-1].rstrip() + " " + lines[k].strip()
        k += 1
        stripped = text.strip()
        if stripped.startswith("$ "):
            stripped = stripped[2:].strip()
        yield start, stripped


def _shrunk(words: list[str]) -> list[str]:
    out = list(words)
    for k, word in enumerate(out[:-1]):
        if word in SHRINK and _SHRINK_ABOVE[word](out[k + 1]):
            out[k + 1] = str(SHRINK[word])
    if "--file" in out and "--n" not in out and out[1:2] == ["sweep"]:
        out += ["--n", str(SHRINK["--n"])]  # the sweep file's n; the command line wins (docs/sweeps.md)
    return out


def _command(document: Path, line: int, text: str) -> Command | None:
    """The safehaven command of one shown line, or None when the line runs none."""
    if not re.search(r"(^|&&|;)\s*safehaven\s", text):
        return None  # not a command line (a file tree, output, another tool)
    try:
        words = shlex.split(text, comments=True)
    except ValueError as exc:
        raise AssertionError(f"{_shown(document)}:{line}: cannot split {text!r}: {exc}") from None
    # 'pip install -e . && safehaven run …': the part a test can run is the safehaven one
    parts, current = [], []
    for word in words:
        if word in ("&&", ";"):
            parts.append(current)
            current = []
        else:
            current.append(word)
    parts.append(current)
    ours = [p for p in parts if p[:1] == ["safehaven"]]
    if not ours:
        return None
    assert len(ours) == 1, f"{_shown(document)}:{line}: one safehaven command a line, got {text!r}"
    comment = text.split(" #", 1)[1] if " #" in text else ""
    code = _EXITS.search(comment)
    argv = _shrunk(ours[0])
    return Command(document, line, text, tuple(argv), int(code.group(1)) if code else 0, "--serve" in argv)


def documented(document: Path) -> list[Command | WrittenFile]:
    """Every command and written file of *document*, in document order."""
    items: list[Command | WrittenFile] = []
    for first, lang, lines in _blocks(document.read_text(encoding="utf-8")):
        if lang in ("yaml", "yml") and lines and re.fullmatch(r"#\s*[\w./-]+\.ya?ml\s*", lines[0]):
            path = lines[0].lstrip("#").strip()
            items.append(WrittenFile(document, first, path, "\n".join(lines[1:]) + "\n"))
            continue
        if lang not in ("", "bash", "sh", "shell", "console", "text"):
            continue
        for line, text in _logical_lines(lines, first):
            cmd = _command(document, line, text)
            if cmd is not None:
                items.append(cmd)
    return items


def _copy_repository(dest: Path) -> None:
    """Copy the repository's files (tracked and untracked, not ignored ones) to *dest*."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                                capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    except (OSError, subprocess.SubprocessError):
        listed = None
    if listed is None:
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(".git", "__pycache__", "runs", "*.egg-info"))
        return
    for name in filter(None, listed):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _environment(home: Path) -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg", HOME=str(home), COLUMNS="160", NO_COLOR="1")
    env.pop("SAFEHAVEN_DEBUG", None)
    return env


@dataclass
class Outcome:
    code: int | None
    stdout: str
    stderr: str
    note: str = ""


class DocumentRun:
    """Runs one document's commands, in order, in its own copy of the repository (once each)."""

    def __init__(self, document: Path, base: Path):
        self.items = documented(document)
        self.base = base
        self.copy = base / "repo"
        self.done: dict[int, Outcome | None] = {}

    def outcome(self, index: int) -> Outcome:
        if not self.copy.exists():
            self.copy.mkdir(parents=True)
            _copy_repository(self.copy)
            (self.base / "home").mkdir(exist_ok=True)
        for k in range(len(self.done), index + 1):
            self.done[k] = self._run(self.items[k])
        return self.done[index]

    def _run(self, item: Command | WrittenFile) -> Outcome | None:
        if isinstance(item, WrittenFile):
            target = self.copy / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.text, encoding="utf-8")
            return None
        argv = [str(SAFEHAVEN), *item.argv[1:]]
        env = _environment(self.base / "home")
        if item.serves:
            return _serve(argv, self.copy, env)
        try:
            proc = subprocess.run(argv, cwd=self.copy, env=env, capture_output=True, text=True,
                                  timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            return Outcome(None, _text(exc.stdout), _text(exc.stderr), f"still running after {TIMEOUT_S} s")
        return Outcome(proc.returncode, proc.stdout, proc.stderr)


def _text(data) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def _serve(argv: list[str], cwd: Path, env: dict[str, str]) -> Outcome:
    """Start a serving command, fetch the URL it prints, stop it; code 0 when the page answered 200."""
    # the URL may be printed on either stream: read them as one
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    seen, note, code = [], "", None
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT_S
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                if proc.poll() is not None:
                    note = f"exited with {proc.returncode} before printing a URL"
                    break
                continue
            seen.append(line)
            found = _URL.search(line)
            url = found.group(0).rstrip(".,)") if found else None
        if url is None and not note:
            note = f"printed no URL within {SERVE_TIMEOUT_S} s"
        if url is not None:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    code = 0 if response.status == 200 else response.status
                    note = f"GET {url}: HTTP {response.status}"
            except OSError as exc:
                note = f"GET {url} failed: {exc}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        rest_out, _ = proc.communicate()
    return Outcome(code, "".join(seen) + (rest_out or ""), "(merged into stdout)", note)


def _cases():
    for document in DOCUMENTS:
        for index, item in enumerate(documented(document)):
            if isinstance(item, Command):
                yield pytest.param(document, index, id=f"{item.where()}: {shlex.join(item.argv)}"[:150])


_RUNS: dict[Path, DocumentRun] = {}


@pytest.fixture(scope="module")
def document_runs(tmp_path_factory):
    yield lambda document: _RUNS.setdefault(
        document, DocumentRun(document, tmp_path_factory.mktemp(document.stem)))
    _RUNS.clear()


@pytest.mark.slow
@pytest.mark.parametrize(("document", "index"), list(_cases()))
def test_documented_command(document, index, document_runs):
    run = document_runs(document)
    cmd = run.items[index]
    outcome = run.outcome(index)
    if outcome.code != cmd.exit_code:
        tail = lambda s: "\n".join(s.strip().splitlines()[-15:]) or "(nothing)"
        pytest.fail(
            f"{cmd.where()}: `{cmd.text}`\n"
            f"  ran: {shlex.join(cmd.argv)}   (in a copy of the repository, after the commands above it)\n"
            f"  expected exit {cmd.exit_code}, got {outcome.code}{' — ' + outcome.note if outcome.note else ''}\n"
            f"  stderr:\n{tail(outcome.stderr)}\n  stdout (last lines):\n{tail(outcome.stdout)}",
            pytrace=False)


# -- the extractor itself ------------------------------------------------------------------------

def test_every_document_shows_commands_that_are_found():
    found = {d.name: [i for i in documented(d) if isinstance(i, Command)] for d in DOCUMENTS}
    assert len(found["README.md"]) >= 8
    assert any(c.argv[1] == "sweep" for c in found["sweeps.md"])


def test_extraction_understands_prompts_continuations_chains_and_comments(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text(
        "Text.\n\n```console\n$ safehaven sweep a.yaml \\\n    --n 2000 --out s\n```\n\n"
        "```bash\npip install -e . && safehaven run s.yaml --out r   # a run\nsafehaven run bad.yaml  # exits 1\n```\n\n"
        "    safehaven drill d.yaml --live --speed 60\n\n"
        "* a list item\n\n    continued text, safehaven words here are prose\n\n"
        "```python\nsafehaven = 1\n```\n"
        "```yaml\n# sweeps/s.yaml\nn: 3\n```\n", encoding="utf-8")
    items = documented(doc)
    commands = [i for i in items if isinstance(i, Command)]
    assert [c.argv for c in commands] == [
        ("safehaven", "sweep", "a.yaml", "--n", "8", "--out", "s"),
        ("safehaven", "run", "s.yaml", "--out", "r"),
        ("safehaven", "run", "bad.yaml"),
        ("safehaven", "drill", "d.yaml", "--live", "--speed", "100000"),
    ]
    assert [c.line for c in commands] == [4, 9, 10, 13]
    assert [c.exit_code for c in commands] == [0, 0, 1, 0]
    written = [i for i in items if isinstance(i, WrittenFile)]
    assert [(w.path, w.text) for w in written] == [("sweeps/s.yaml", "n: 3\n")]


def test_a_serving_command_is_started_fetched_and_stopped(tmp_path):
    """The --serve machinery on a server that prints its URL (Python's http.server on a free port)."""
    (tmp_path / "index.html").write_text("ok", encoding="utf-8")
    argv = [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
    outcome = _serve(argv, tmp_path, dict(os.environ))
    assert outcome.code == 0, outcome
    assert outcome.note.startswith("GET http://127.0.0.1:") and outcome.note.endswith("HTTP 200")
    failed = _serve([sys.executable, "-c", "print('no url'); raise SystemExit(4)"], tmp_path, dict(os.environ))
    assert failed.code is None and "exited with 4 before printing a URL" in failed.note
