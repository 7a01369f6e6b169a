"""The docs stay true: links resolve, the README stays an index, and the commands it shows work.

README.md is the index (under 150 lines); everything else lives in docs/*.md. What is checked:

- every relative link and image in README.md and docs/*.md leads to a file, and its #anchor to a
  heading of that file (GitHub's slugs); every docs page is linked from the README and opens
  with a one-line summary that links back to it;
- the README's quickstart (the ```bash blocks under `## Quickstart`): its first two commands
  are the install + demo and install + test lines, and .ci/run runs the same test command.
  Run: the quick commands (today `a2i env`), in an empty folder whose `.venv` is this one.
  Only checked (`bash -n`, the files they name exist, their a2i commands and options exist):
  `bash install.sh` (builds a venv and the C++ extension: minutes, and the network), the test
  suite (it would run itself), `a2i demo` (trains for minutes), `a2i demo-data` (2,000 images,
  about 50 s and 180 MB) and `prepare` / `train` (they need that data and train for minutes);
- `a2i <command> --help` exits 0 for every row of the README's commands table;
- every `a2i ...` line of a ```bash block (and `inline code` starting with `a2i `) in the
  README and docs names a command that exists and only options its --help lists; the
  ```python blocks compile.

About 15 s on 2 cores, most of it the --help processes and `a2i env`.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from a2i_cli.cli import app

ROOT = typer.main.get_command(app)  # the click command tree: every command and its options

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [README, *DOCS]
A2I = Path(sys.executable).parent / "a2i"  # the console script beside this Python (.venv/bin/a2i)
MAX_README_LINES = 150
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out, fenced = [], False
    for n, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((n, line))
    return out


def code_blocks(text: str, lang: str = "bash") -> list[tuple[int, str]]:
    """(line of the opening fence, body) of every fenced block in the given language."""
    blocks, body, start, current = [], [], 0, None
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if m and current is None:
            current, start, body = line.strip()[3:].strip(), n, []
        elif m:
            if current == lang:
                blocks.append((start, "\n".join(body)))
            current = None
        elif current is not None:
            body.append(line)
    return blocks


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: rendered text, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # a link: its text
    text = text.replace("`", "").replace("**", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and _ (as GitHub does)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(page.read_text()):
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = github_slug(m.group(2))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(page: Path) -> list[tuple[int, str]]:
    """(line, target) of every relative link or image outside code (fenced blocks and `inline code`)."""
    found = []
    for n, line in prose_lines(page.read_text()):
        for target in LINK.findall(re.sub(r"`[^`]*`", "CODE", line)):  # [`a2i[fast]`](x) -> [CODE](x)
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ... are not ours
                found.append((n, target))
    return found


def test_docs_exist_and_the_readme_links_every_page():
    assert DOCS, "docs/*.md is missing"
    linked = {(README.parent / t.split("#")[0]).resolve() for _, t in links(README) if t.split("#")[0]}
    unlinked = [rel(p) for p in DOCS if p.resolve() not in linked]
    assert not unlinked, f"README.md does not link these docs pages: {unlinked}"


def test_every_relative_link_resolves():
    """Files exist; #anchors name a heading of the target (GitHub's slugs)."""
    wrong = []
    cache: dict[Path, set[str]] = {}
    for page in PAGES:
        for n, target in links(page):
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page.resolve()
            if not dest.exists():
                wrong.append(f"{rel(page)}:{n}: {target} (no such file)")
                continue
            if anchor and dest.suffix == ".md":
                if dest not in cache:
                    cache[dest] = anchors(dest)
                if anchor not in cache[dest]:
                    wrong.append(f"{rel(page)}:{n}: {target} (no heading '#{anchor}' in {rel(dest)})")
    assert not wrong, "\n".join(wrong)


def test_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) < MAX_README_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_every_docs_page_starts_with_a_summary_and_a_way_back():
    """A page opens with its title, then one line saying what it answers, with a link to the README."""
    wrong = []
    for page in DOCS:
        lines = page.read_text().splitlines()
        if not lines or not lines[0].startswith("# "):
            wrong.append(f"{rel(page)}: the first line is not a title")
            continue
        paragraph = []
        for line in lines[1:]:
            if line.strip():
                paragraph.append(line)
            elif paragraph:
                break
        if len(paragraph) != 1 or "](../README.md)" not in paragraph[0]:
            wrong.append(f"{rel(page)}: the line after the title should be one summary line linking ../README.md")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------- the README's quickstart

# Quickstart commands matching these are only checked, not run: installing builds a venv and a C++
# extension (minutes, and the network), the test suite would run itself, `a2i demo` trains for
# minutes, `a2i demo-data` writes 2,000 images (about 50 s and 180 MB here), and `prepare` and
# `train` need its data and train for minutes.
LONG = re.compile(r"install\.sh|-m pytest|a2i (demo|demo-data|prepare|train)(\s|$)")


def section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of that level."""
    m = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"README.md has no '## {heading}' section"
    return m.group(1)


def quickstart_commands() -> list[str]:
    """Every command line of the ```bash blocks under the README's `## Quickstart`, in order."""
    blocks = [body for _, body in code_blocks(section(README.read_text(), "Quickstart"))]
    assert blocks, "the README's quickstart shows no ```bash block"
    lines = [line for body in blocks for line in re.sub(r"\\\n\s*", " ", body).splitlines()]
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_opens_with_install_and_test_commands():
    """The first two commands set up and run the demo, then the tests; .ci/run runs that same test command."""
    first = code_blocks(README.read_text())[0][1]
    commands = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    assert commands[:2] == ["bash install.sh && .venv/bin/a2i demo",
                            "bash install.sh && .venv/bin/python -m pytest -q"], commands
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert "bash install.sh" in ci and commands[1].split("&& ")[1] in ci, \
        ".ci/run must install with install.sh and run the README's test command"


def test_quickstart_long_commands_parse_and_what_they_name_exists():
    """Checked, not run (see LONG): `bash -n` parses each line, the scripts it names exist, its
    a2i commands and options exist, and what makes `.venv/bin/a2i` and the test tools is declared."""
    long = [line for line in quickstart_commands() if LONG.search(line)]
    assert len(long) >= 2, "expected the install / demo / test commands in the quickstart"
    for line in long:
        r = subprocess.run(["bash", "-n"], input=line, text=True, capture_output=True)
        assert r.returncode == 0, f"does not parse: {line}\n{r.stderr}"
        for word in shlex.split(line, comments=True):
            if word.endswith((".sh", ".py")):
                assert (REPO / word).is_file(), f"the quickstart names {word}, which is not in the repository"
        for words in a2i_invocations(line):
            assert check_invocation(words) is None, check_invocation(words)
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'a2i = "a2i_cli.cli:main"' in pyproject  # what makes .venv/bin/a2i
    assert re.search(r"^test = \[.*pytest", pyproject, re.M)  # install.sh installs the test extra
    assert "test," in (REPO / "install.sh").read_text()


def test_quickstart_short_commands_run(tmp_path):
    """Run, in order, in an empty folder whose `.venv` is this checkout's: every quickstart command
    that is not LONG (today `a2i env`), under `bash -e`; each must exit 0."""
    short = [line for line in quickstart_commands() if not LONG.search(line)]
    assert short, "expected quick commands in the quickstart after the install line"
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    script = "\n".join(short)
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path, text=True,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, f"the README's quickstart failed ({r.returncode}):\n{script}\n{r.stdout}\n{r.stderr}"


def table_commands() -> list[list[str]]:
    """The command paths of the README's commands table: ['demo'], ['extract', 'videos'], ..."""
    root = ROOT
    paths = []
    for line in section(README.read_text(), "Commands").splitlines():
        m = re.match(r"^\|\s*`([^`]*)`\s*\|", line)
        if not m:
            continue
        for part in m.group(1).split(" / "):
            words = part.split()
            words = words[1:] if words[0] == "a2i" else words
            path, group = [], root
            for word in words:
                if not hasattr(group, "commands") or word not in group.commands:
                    break
                path.append(word)
                group = group.commands[word]
            assert path, f"no a2i command in the commands table's {part!r}"
            paths.append(path)
    assert len(paths) >= 10, paths
    return paths


def test_every_command_in_the_table_has_help():
    """`a2i <command> --help` exits 0 for every row of the README's commands table (as a user runs it)."""
    assert A2I.is_file(), f"{A2I} is missing (install with install.sh)"
    procs = {" ".join(p): subprocess.Popen([str(A2I), *p, "--help"], stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
             for p in table_commands()}
    failed = []
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0 or "Usage" not in out:
            failed.append(f"a2i {name} --help: exit {proc.returncode}\n{out[-500:]}")
    assert not failed, "\n".join(failed)


# ---------------------------------------------------------------- a2i commands in the docs


def a2i_invocations(block: str) -> list[list[str]]:
    """The words of every `a2i ...` (or `.venv/bin/a2i ...`) command in a shell block."""
    joined = re.sub(r"\\\n\s*", " ", block)
    found = []
    for line in joined.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        command: list[str] = []
        for word in [*words, "&&"]:
            if word in ("&&", "||", ";", "|"):
                if command and (command[0] == "a2i" or command[0].endswith("/a2i")):
                    found.append(command[1:])
                command = []
            else:
                command.append(word)
    return found


def check_invocation(words: list[str]) -> str | None:
    """None when the command exists and takes every --option given; else what is wrong."""
    cmd = ROOT
    path = []
    for word in words:
        if word.startswith("-"):
            continue
        if hasattr(cmd, "commands"):
            if word not in cmd.commands:
                return f"a2i {' '.join(path + [word])}: no such command"
            cmd = cmd.commands[word]
            path.append(word)
        else:
            break
    known = {"--help"} | {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
    unknown = [w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in known]
    if unknown:
        return f"a2i {' '.join(path)}: no option {', '.join(unknown)} (see a2i {' '.join(path)} --help)"
    return None


def test_a2i_commands_in_the_docs_exist():
    """Every `a2i <command> --option ...` in a ```bash block of the README or docs/ (and every
    `inline code` that starts with `a2i `) names a command and options that its --help lists."""
    wrong, in_blocks = [], 0
    for page in PAGES:
        text = page.read_text()
        for line, block in code_blocks(text):
            for words in a2i_invocations(block):
                in_blocks += 1
                problem = check_invocation(words)
                if problem:
                    wrong.append(f"{rel(page)} (block at line {line}): {problem}")
        for line, prose in prose_lines(text):
            for span in re.findall(r"`([^`]*)`", prose):
                for words in a2i_invocations(span) if span.startswith("a2i ") else []:
                    problem = check_invocation(words)
                    if problem:
                        wrong.append(f"{rel(page)}:{line}: {problem}")
    assert in_blocks >= 20, f"only {in_blocks} a2i commands found in the docs' bash blocks"
    assert not wrong, "\n".join(wrong)


def test_python_blocks_in_the_docs_compile():
    """The ```python snippets (the python_speech_features call, ONNX Runtime alone) are valid Python."""
    for page in PAGES:
        for line, block in code_blocks(page.read_text(), "python"):
            compile(block, f"{rel(page)}:{line}", "exec")


def test_the_check_catches_what_it_should():
    """The consistency check itself: a made-up command or option is reported."""
    assert check_invocation(["batch-generate", "x.csv", "--out", "o"]) is None
    assert check_invocation(["extract", "videos", "c/", "--hop", "0.25"]) is None
    assert "no such command" in check_invocation(["paint", "x"])
    assert "--colour" in check_invocation(["score", "--colour", "red"])
    assert a2i_invocations("a2i prepare d --class all && a2i train  # x\n.venv/bin/a2i env") == \
        [["prepare", "d", "--class", "all"], ["train"], ["env"]]
    assert github_slug("Exporting a model: `.pt2` for torch, `.onnx` for ONNX Runtime") == \
        "exporting-a-model-pt2-for-torch-onnx-for-onnx-runtime"
    assert github_slug("a2i — learn") == "a2i--learn"
