#!/usr/bin/env python3
"""Checks that comments and docs cite only files the repository has.

A clone has nothing but the repository: a comment that names a design note or a contract
kept somewhere else sends the reader to a file they cannot open. This script reads
the comments of every source file in git (C++ // and /* */, # in Python, shell, CMake and
YAML, Python docstrings) and the whole text of every Markdown file, picks out each
path-like token ending in .md, .h, .cc, .py or .yml, and looks it up:

  - relative to the repository root, or to the citing file's directory or one of its
    parents (dns/<file>.cc cited in actuator/steps/ is found as actuator/dns/<file>.cc);
  - a bare file name (<file>.h) anywhere in the repository.

Absolute paths (/etc/failover/actuator.yml), URLs and templates (probers/<kind>.h,
*_test.cc) are not citations of repository files and are skipped. Paths the build
generates are listed in GENERATED.

Usage: check_cited_paths.py [REPO_ROOT]   (default: the repository this file is in)
Exit status 0 when every cited path exists; 1 with one line per broken citation
(file:line: token) otherwise.
"""

import io
import os
import re
import subprocess
import sys
import tokenize

EXTENSIONS = ("md", "h", "cc", "py", "yml")
# A path-like token: segments of word characters, dots and dashes joined by '/', ending
# in one of EXTENSIONS. Not preceded by a character that would make it part of an absolute
# path, a URL, a glob or a template, nor followed by more path characters.
TOKEN = re.compile(
    r"(?<![\w./\-*<>{}$~@:])"
    r"((?:[\w.\-]+/)*[\w.\-]*[A-Za-z0-9_]\.(?:" + "|".join(EXTENSIONS) + r"))"
    r"(?![\w/\-]|\.[A-Za-z0-9])"
)
URL = re.compile(r"\b[a-z][a-z0-9+.\-]*://\S+")
# Files the build writes (they are not in git).
GENERATED = {"common/build_info.h", "build_info.h"}
# Directories whose files are data, not prose: fuzz seeds, test fixtures.
SKIP_DIRS = ("tests/fuzz/corpus/",)

CPP_EXT = (".h", ".cc", ".c", ".cpp", ".hpp", ".in")
HASH_EXT = (".sh", ".yml", ".yaml", ".cmake", ".txt", ".conf", ".service", ".toml")


def repo_files(root):
    """Files in git (tracked or new, not ignored); without git, every file but build dirs."""
    try:
        out = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True,
            capture_output=True,
        ).stdout.decode("utf-8", "replace")
        names = out.split("\0")
    except (OSError, subprocess.CalledProcessError):
        names = []
        for d, subdirs, files in os.walk(root):
            subdirs[:] = [s for s in subdirs if not s.startswith((".", "build"))]
            names += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted({f for f in names if f and os.path.isfile(os.path.join(root, f))})


def cpp_comments(text):
    """(line, text) of every // and /* */ comment, skipping string and char literals."""
    out = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append((line, text[i + 2 : j]))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j
            for k, part in enumerate(text[i + 2 : j].split("\n")):
                out.append((line + k, part))
            line += text.count("\n", i, j)
            i = j + 2
        elif text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            # Raw string R"delim( ... )delim".
            open_paren = text.find("(", i + 2)
            delim = text[i + 2 : open_paren] if open_paren >= 0 else ""
            end = text.find(")" + delim + '"', open_paren + 1) if open_paren >= 0 else -1
            end = n if end < 0 else end + len(delim) + 2
            line += text.count("\n", i, end)
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        else:
            i += 1
    return out


def hash_comments(text):
    """(line, text) of # comments (outside quotes) in shell, CMake and YAML."""
    out = []
    for number, raw in enumerate(text.split("\n"), 1):
        quote = None
        for k, c in enumerate(raw):
            if quote:
                if c == "\\" and quote == '"':
                    continue
                if c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
            elif c == "#" and (k == 0 or raw[k - 1] in " \t;"):
                out.append((number, raw[k + 1 :]))
                break
    return out


def python_comments(text):
    """(line, text) of # comments and docstrings (string statements) in Python."""
    out = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return hash_comments(text)
    previous = tokenize.NEWLINE
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            out.append((tok.start[0], tok.string[1:]))
        elif tok.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.INDENT,
                                                          tokenize.DEDENT, tokenize.NL):
            for k, part in enumerate(tok.string.split("\n")):
                out.append((tok.start[0] + k, part))
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok.type
    return out


def markdown_text(text):
    return list(enumerate(text.split("\n"), 1))


def prose_of(path, text):
    name = os.path.basename(path)
    if path.endswith(".md"):
        return markdown_text(text)
    if path.endswith(CPP_EXT):
        return cpp_comments(text)
    if path.endswith(".py"):
        return python_comments(text)
    if path.endswith(HASH_EXT) or name == "CMakeLists.txt":
        return hash_comments(text)
    first = text.split("\n", 1)[0]
    if first.startswith("#!"):
        return python_comments(text) if "python" in first else hash_comments(text)
    return []


def resolves(token, citing, root, files, basenames):
    if token in GENERATED:
        return True
    token = token[2:] if token.startswith("./") else token
    if "/" not in token and token in basenames:
        return True
    directory = os.path.dirname(citing)
    while True:
        candidate = os.path.normpath(os.path.join(directory, token))
        if candidate in files or os.path.isdir(os.path.join(root, candidate)):
            return True
        if not directory:
            return False
        directory = os.path.dirname(directory)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    files = repo_files(root)
    file_set = set(files)
    basenames = {os.path.basename(f) for f in files}
    broken = []
    for path in files:
        if path.startswith(SKIP_DIRS):
            continue
        try:
            with open(os.path.join(root, path), encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        for line, prose in prose_of(path, text):
            for token in TOKEN.findall(URL.sub(" ", prose)):
                if not resolves(token, path, root, file_set, basenames):
                    broken.append(f"{path}:{line}: {token}")
    for b in broken:
        print(b)
    sys.stdout.flush()
    if broken:
        print(f"{len(broken)} citation(s) of files the repository does not have", file=sys.stderr)
        return 1
    print(f"cited paths: all exist ({len(files)} files read)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
