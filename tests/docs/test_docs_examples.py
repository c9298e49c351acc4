"""Every code block of README.md and docs/**/*.md runs here, page by page.

A page's blocks run in order in one namespace, in a fresh temporary directory (the
working directory), as a reader would paste them. ``/tmp/`` in a block is replaced by
that directory. How a block is treated is said in the Markdown itself, by an HTML comment
on the line before the fence (invisible on the rendered page):

- a ``python`` block runs; ``<!-- test: tensorflow -->`` marks the TensorFlow side of a
  comparison: it runs only with TensorFlow installed (interop lane), together with the
  rest of the page;
- a shell block (``sh``, ``bash``, ``console``) runs with bash only when marked
  ``<!-- test: shell -->`` (or ``tensorflow``); the interpreter's own ``bin`` comes first
  on ``PATH``, so ``savedmodel-cli`` and ``python`` are the ones under test;
- ``<!-- test: output -->`` before a ``text`` block: it must equal what the block before
  it printed;
- ``<!-- test: file NAME -->``: the block's text is written to ``NAME`` (a test module,
  a config file) for later blocks to use;
- ``<!-- test: skip: REASON -->``: not run, for the reason given (a reason is required);
- ``<!-- test-setup: ... -->``: Python run before the next block and not shown, for
  blocks that need something made earlier (a model, a checkpoint);
- ``<!-- test: requires torch jax -->`` anywhere in a page: those modules must import;
  without them the page is skipped, or fails when ``SAVEDMODEL_IO_REQUIRE_DOCS=1`` (the
  docs lane of CI).

A shell block or a block in another language with none of these fails the test: nothing
is left out silently. README.md cannot carry comments about CI, so its non-Python blocks
are listed in ``README_BLOCKS`` with the reason they are not run here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
REQUIRE_DOCS = os.environ.get("SAVEDMODEL_IO_REQUIRE_DOCS") == "1"

PYTHON = {"python", "py", "pycon"}
SHELL = {"sh", "bash", "console", "shell"}
PLAIN = {"text", "txt", ""}

# README.md's blocks that are not Python, keyed by their first line.
README_BLOCKS = {
    'python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/python '
    'examples/quickstart.py':
        ".ci/run lane (a) checks this line is in README.md verbatim and runs it",
    'python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" && '
    '.venv/bin/python -m pytest -q':
        ".ci/run lane (a) checks this line is in README.md verbatim and runs it",
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test,dev]"':
        "the development set-up; .ci/run lane (c) runs the same installs, ruff and mypy",
}

_MARKER = re.compile(r"^<!--\s*test:\s*(.*?)\s*-->\s*$")
_SETUP_START = re.compile(r"^<!--\s*test-setup:\s*(.*)$")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None = None
    setup: str | None = None

    @property
    def where(self) -> str:
        page = self.page.relative_to(REPO) if self.page.is_relative_to(REPO) else self.page
        return f"{page}:{self.line}"


@dataclass
class Page:
    path: Path
    blocks: list[Block] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)


def parse_page(path: Path) -> Page:
    """The fenced blocks of a Markdown file, each with the marker and set-up before it."""
    page = Page(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    marker: str | None = None
    setup: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        m = _MARKER.match(stripped)
        if m:
            value = m.group(1)
            if value.startswith("requires"):
                page.requires.extend(value.split()[1:])
            else:
                marker = value
            i += 1
            continue
        s = _SETUP_START.match(stripped)
        if s:
            body = [s.group(1)]
            i += 1
            while "-->" not in body[-1]:
                if i >= len(lines):
                    raise AssertionError(f"{path}: unterminated test-setup comment")
                body.append(lines[i])
                i += 1
            body[-1] = body[-1].split("-->")[0]
            setup.append(textwrap.dedent("\n".join(body)))
            continue
        f = _FENCE.match(line)
        if f:
            indent, fence, lang = f.group("indent"), f.group("fence"), f.group("lang")
            start = i
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            i += 1
            page.blocks.append(Block(path, start + 1, lang.lower(), "\n".join(body) + "\n",
                                     marker, "\n".join(setup) or None))
            marker, setup = None, []
            continue
        if stripped:
            marker = None  # a marker applies only to the block right after it
        i += 1
    return page


def all_pages() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]


def _page_id(path: Path) -> str:
    return str(path.relative_to(REPO))


# ------------------------------------------------------------------ running


class Runner:
    """Runs one page's blocks in order in one namespace and one directory."""

    def __init__(self, workdir: Path, with_tensorflow: bool) -> None:
        self.workdir = workdir
        self.with_tensorflow = with_tensorflow
        self.namespace: dict[str, object] = {"__name__": "__docs__"}
        # The last two code blocks in page order: (where, printed or None if not run,
        # marker). An output block shows what the last one printed and, when the one
        # before it is TensorFlow's side of a comparison, what that printed too.
        self.recent: list[tuple[str, str | None, str]] = []

    @property
    def last_output(self) -> str | None:
        return self.recent[-1][1] if self.recent else None

    def _ran(self, block: Block, printed: str | None) -> None:
        self.recent = [*self.recent[-1:], (block.where, printed, block.marker or "")]

    def _compared_outputs(self) -> list[tuple[str, str]]:
        out = []
        if self.recent and self.recent[-1][1] is not None:
            out.append((self.recent[-1][0], self.recent[-1][1]))
            if len(self.recent) == 2 and self.recent[0][2] == "tensorflow" and \
                    self.recent[0][1] is not None:
                out.append((self.recent[0][0], self.recent[0][1]))
        return out

    def _localize(self, code: str) -> str:
        return code.replace("/tmp/", f"{self.workdir}/")

    def run_python(self, code: str, where: str) -> str:
        out = io.StringIO()
        compiled = compile(self._localize(code), where, "exec")
        with contextlib.redirect_stdout(out):
            exec(compiled, self.namespace)  # noqa: S102 - running the docs is the point
        return out.getvalue()

    def run_shell(self, code: str, where: str) -> str:
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.pop("PYTEST_ADDOPTS", None)
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self._localize(code)], cwd=self.workdir,
            env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise AssertionError(
                f"{where}: shell block exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                f"\n--- stderr\n{proc.stderr}")
        return proc.stdout

    def run(self, block: Block, readme_reasons: dict[str, str]) -> None:
        marker = block.marker or ""
        if block.setup:
            self.run_python(block.setup, f"{block.where} (test-setup)")
        if marker.startswith("skip:"):
            assert marker[len("skip:"):].strip(), f"{block.where}: skip without a reason"
            self._ran(block, None)
            return
        if marker == "output":
            assert block.lang in PLAIN, f"{block.where}: an output block must be text"
            shown = self._localize(block.code).rstrip()
            for where, printed in self._compared_outputs():
                assert printed.rstrip() == shown, (
                    f"{block.where}: the page shows an output that differs from what "
                    f"{where} printed:\n--- shown\n{block.code}--- printed\n{printed}")
            self.recent = []
            return
        if marker.startswith("file "):
            target = self.workdir / marker[len("file "):].strip()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self._localize(block.code), encoding="utf-8")
            self._ran(block, None)
            return
        if marker == "tensorflow" and not self.with_tensorflow:
            self._ran(block, None)
            return
        if block.lang in PYTHON:
            assert marker in ("", "tensorflow"), f"{block.where}: unknown marker {marker!r}"
            self._ran(block, self.run_python(block.code, block.where))
            return
        if block.lang in SHELL and marker in ("shell", "tensorflow"):
            self._ran(block, self.run_shell(block.code, block.where))
            return
        first = block.code.strip().splitlines()[0] if block.code.strip() else ""
        if block.page.name == "README.md" and block.page.parent == REPO and \
                first in readme_reasons:
            return
        if block.lang in PLAIN and not marker:
            return  # prose in a box (a directory listing, a file's text), not code
        raise AssertionError(
            f"{block.where}: a {block.lang or 'plain'} block with no test marker; say how "
            "it is tested (see tests/docs/test_docs_examples.py)")


def _require_modules(page: Page) -> None:
    missing = [m for m in page.requires if importlib.util.find_spec(m) is None]
    if missing:
        msg = f"{_page_id(page.path)} needs {missing}, not installed"
        if REQUIRE_DOCS:
            pytest.fail(msg + " (SAVEDMODEL_IO_REQUIRE_DOCS=1: the docs lane must run it)")
        pytest.skip(msg)


def _run_page(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              with_tensorflow: bool) -> Runner:
    page = parse_page(path)
    _require_modules(page)
    monkeypatch.chdir(tmp_path)
    runner = Runner(tmp_path, with_tensorflow)
    for block in page.blocks:
        runner.run(block, README_BLOCKS)
    return runner


@pytest.mark.parametrize("path", all_pages(), ids=_page_id)
def test_page(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's blocks, TensorFlow's side left out, run without an error."""
    _run_page(path, tmp_path, monkeypatch, with_tensorflow=False)


def _pages_with_tensorflow() -> list[Path]:
    return [p for p in all_pages()
            if any(b.marker == "tensorflow" for b in parse_page(p).blocks)]


@pytest.mark.interop
@pytest.mark.parametrize("path", _pages_with_tensorflow(), ids=_page_id)
def test_page_with_tensorflow(path: Path, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole page, TensorFlow's side included, runs against real TensorFlow."""
    pytest.importorskip("tensorflow")
    _run_page(path, tmp_path, monkeypatch, with_tensorflow=True)


def test_every_page_has_code_and_readme_table_is_current() -> None:
    """The README table names blocks that exist, and each page's blocks parse."""
    readme = parse_page(REPO / "README.md")
    firsts = {b.code.strip().splitlines()[0] for b in readme.blocks if b.code.strip()}
    stale = [k for k in README_BLOCKS if k not in firsts]
    assert not stale, f"README_BLOCKS lists blocks README.md no longer has: {stale}"
    for path in all_pages():
        for block in parse_page(path).blocks:
            assert block.code.strip(), f"{block.where}: empty code block"


def test_unmarked_shell_block_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("Text\n\n```sh\nrm -rf /\n```\n", encoding="utf-8")
    (block,) = parse_page(page).blocks
    block.page = REPO / "docs" / "p.md"  # as if it were a docs page
    with pytest.raises(AssertionError, match="no test marker"):
        Runner(tmp_path, with_tensorflow=False).run(block, README_BLOCKS)


def test_markers_apply_to_the_next_block_only(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(textwrap.dedent("""\
        <!-- test: skip: shown only -->
        ```python
        raise SystemExit
        ```
        Words between.
        <!-- test: output -->

        ```text
        hello
        ```
        <!-- test-setup:
        x = 1
        -->
        ```python
        print("hello")
        ```
        """), encoding="utf-8")
    blocks = parse_page(page).blocks
    assert [b.marker for b in blocks] == ["skip: shown only", "output", None]
    assert blocks[2].setup is not None and "x = 1" in blocks[2].setup
    runner = Runner(tmp_path, with_tensorflow=False)
    for b in blocks:
        runner.run(b, {})
    assert runner.namespace["x"] == 1
    assert runner.last_output == "hello\n"


def test_a_wrong_output_block_fails(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text('```python\nprint(6 * 7)\n```\n\n<!-- test: output -->\n```text\n41\n```\n',
                    encoding="utf-8")
    runner = Runner(tmp_path, with_tensorflow=False)
    code, shown = parse_page(page).blocks
    runner.run(code, {})
    with pytest.raises(AssertionError, match="differs from what .*p.md:1 printed"):
        runner.run(shown, {})


def test_api_reference_turns_rest_roles_into_markdown() -> None:
    pytest.importorskip("griffe")  # installed with the docs extra
    from docs._ext.rst_roles import markdown_docstring

    text = "A :class:`~savedmodel_io.train.Saver` and :func:`load`::\n\n    x = 1\n"
    assert markdown_docstring(text) == "A `savedmodel_io.train.Saver` and `load`:\n\n    x = 1\n"
    assert markdown_docstring("``tf.Example``\\ s") == "``tf.Example``s"
