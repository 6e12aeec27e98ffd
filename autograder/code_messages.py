"""The words of a code cell that a student reads, as messages to translate: docstrings, ``#`` comments, and the
messages of ``assert`` statements and ``print`` calls.

    pieces(source)             # where they are: one Piece per docstring, comment (block) or message literal
    translate(source, lookup)  # the cell with each message replaced by lookup(kind, text), the rest byte for byte
    skeleton(source)           # the cell's syntax tree with those messages blanked: equal skeletons, same code
    problems(source, lookup)   # what the translations break (Python syntax, placeholders, a comment after code)

Only text is replaced, never code: a docstring's paragraphs inside its own quotes (its indentation kept), a
comment after its own ``#``, a message between its own quotes with the same prefix (so an f-string stays an
f-string, and its placeholders ``{h}`` must come back in the translation). Plot titles and other strings a
program uses as data are not messages: they stay English (a student's matplotlib may have no Chinese font).
A docstring is split into paragraphs (blank lines), one message each, as the Markdown cells are.

Pure functions of the source text; the catalogs are ``autograder.catalogs``' and ``autograder.authoring.translate``'s business.
"""
from __future__ import annotations

import ast
import io
import re
import string
import tokenize
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from autograder import syntax_trees

DOCSTRING, COMMENT, MESSAGE = "docstring", "comment", "message"
KINDS = (DOCSTRING, COMMENT, MESSAGE)

#: A lookup gives the translation of (kind, English text), or None to keep the English.
Lookup = Callable[[str, str], "str | None"]

_WORDS = re.compile(r"[A-Za-z]{2}")
_LITERAL = re.compile(r"^([A-Za-z]*)('''|\"\"\"|'|\")(.*)\2$", re.S)
_COMMENT = re.compile(r"^(#+[ \t]?)(.*)$", re.S)
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def is_text(text: str) -> bool:
    """Words to translate (not a shape like ``(5, 5, 3)`` or a line of symbols)."""
    return bool(_WORDS.search(text))


@dataclass
class Piece:
    """One place in a cell where messages are: a docstring, a comment or comment block, or a message literal."""

    kind: str                    # DOCSTRING, COMMENT or MESSAGE
    start: int                   # character offsets of the replaced span in the cell's source
    end: int
    texts: list[str]             # the messages, in order
    render: Callable[[Callable[[str], str]], str] = field(repr=False)  # (text -> translation) -> new span
    prefix: str = ""             # a literal's prefix and quote (docstrings and messages)
    quote: str = ""
    formatting: str = ""         # how a message literal is formatted: "f", "format", "percent" or ""
    line: int = 0                # 1-based line of the span's start
    after_code: bool = False     # a comment at the end of a line of code

    def literal(self, body: str) -> str:
        return f"{self.prefix}{self.quote}{body}{self.quote}"


# --------------------------------------------------------------------------- finding the pieces


def _line_starts(source: str) -> list[int]:
    starts, total = [], 0
    for line in source.split("\n"):
        starts.append(total)
        total += len(line) + 1
    return starts


def _char_offset(source: str, starts: list[int], lineno: int, col_bytes: int) -> int:
    """The character offset of ``ast``'s (line, UTF-8 byte column)."""
    line = source[starts[lineno - 1]:]
    line = line[:line.find("\n")] if "\n" in line else line
    return starts[lineno - 1] + len(line.encode("utf-8")[:col_bytes].decode("utf-8", errors="ignore"))


def _single_literal(text: str) -> re.Match | None:
    """The prefix, quote and body of ``text`` if it is one string literal (not bytes, not implicitly joined)."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
                  if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
    except (tokenize.TokenError, SyntaxError):
        return None
    if len(tokens) != 1 or tokens[0].type != tokenize.STRING:
        return None
    m = _LITERAL.match(text)
    if m is None or "b" in m.group(1).lower():
        return None
    return m


def _docstring_piece(literal: re.Match, start: int, end: int, line: int) -> Piece | None:
    """A docstring's paragraphs, each a message; lines after the first lose (and get back) their indentation."""
    prefix, quote, body = literal.group(1), literal.group(2), literal.group(3)
    lines = body.split("\n")
    tail = ""
    if len(lines) > 1 and not lines[-1].strip():
        tail = "\n" + lines.pop()  # the closing quotes on a line of their own
    indent = min((len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()), default=0)
    items: list = []  # a blank line (str), or a paragraph: [(line index, line), ...]
    for i, ln in enumerate(lines):
        if not ln.strip():
            items.append(ln)
        elif items and isinstance(items[-1], list):
            items[-1].append((i, ln))
        else:
            items.append([(i, ln)])
    pad = " " * indent

    def text_of(paragraph):
        return "\n".join(ln if i == 0 else ln[indent:] for i, ln in paragraph)

    texts = [text_of(p) for p in items if isinstance(p, list) and is_text(text_of(p))]
    if not texts:
        return None

    def render(tr):
        out = []
        for item in items:
            if isinstance(item, str):
                out.append(item)
                continue
            english = text_of(item)
            new = tr(english) if is_text(english) else english
            if new == english:
                out.extend(ln for _, ln in item)
                continue
            for j, ln in enumerate(new.split("\n")):
                out.append(ln if (j == 0 and item[0][0] == 0) else pad + ln)
        return prefix + quote + "\n".join(out) + tail + quote

    return Piece(DOCSTRING, start, end, texts, render, prefix, quote, line=line)


def _message_piece(literal: re.Match, start: int, end: int, line: int, formatting: str) -> Piece | None:
    prefix, quote, body = literal.group(1), literal.group(2), literal.group(3)
    if not is_text(body):
        return None
    if "f" in prefix.lower():
        formatting = "f"

    def render(tr):
        return prefix + quote + tr(body) + quote

    return Piece(MESSAGE, start, end, [body], render, prefix, quote, formatting, line=line)


def _docstring_nodes(tree: ast.AST) -> list[ast.Constant]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.append(first.value)
    return found


def _message_nodes(tree: ast.AST) -> list[tuple[ast.expr, str]]:
    """(string node, formatting) of every assert message and every string argument of ``print``."""
    candidates = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            candidates.append(node.msg)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            candidates.extend(node.args)
    found = []
    for expr in candidates:
        if isinstance(expr, ast.JoinedStr) or (isinstance(expr, ast.Constant) and isinstance(expr.value, str)):
            found.append((expr, ""))
        elif (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format"
              and isinstance(expr.func.value, ast.Constant) and isinstance(expr.func.value.value, str)):
            found.append((expr.func.value, "format"))
        elif (isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod) and isinstance(expr.left, ast.Constant)
              and isinstance(expr.left.value, str)):
            found.append((expr.left, "percent"))
    return found


def _comment_pieces(source: str, starts: list[int]) -> list[Piece]:
    """Comments: a comment after code is one message; consecutive whole-line comments in one column are one."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    lines = source.split("\n")
    groups: list[list] = []
    for tok in tokens:
        row, col = tok.start
        alone = not lines[row - 1][:col].strip()
        last = groups[-1][-1] if groups else None
        if alone and last is not None and last[2] and last[0].start[0] == row - 1 and last[0].start[1] == col:
            groups[-1].append((tok, row, alone))
        else:
            groups.append([(tok, row, alone)])
    pieces = []
    for group in groups:
        first, row, alone = group[0]
        marker = _COMMENT.match(first.string).group(1)
        parts = [_COMMENT.match(t.string).group(2) for t, _, _ in group]
        text = "\n".join(parts)
        if not is_text(text):
            continue
        indent = lines[row - 1][:first.start[1]] if alone else re.match(r"[ \t]*", lines[row - 1]).group(0)
        start = starts[row - 1] + first.start[1]
        last_tok, last_row, _ = group[-1]
        end = starts[last_row - 1] + last_tok.end[1]
        original = source[start:end]

        def render(tr, text=text, original=original, marker=marker, indent=indent):
            new = tr(text)
            if new == text:
                return original
            return ("\n" + indent).join(marker + ln for ln in new.split("\n"))

        pieces.append(Piece(COMMENT, start, end, [text], render, line=row, after_code=not alone))
    return pieces


def pieces(source: str) -> list[Piece]:
    """Every piece of ``source`` that holds messages, in the order of the source. A cell that does not parse has
    none (it is not translated)."""
    try:
        tree = syntax_trees.parse(source)
    except (SyntaxError, ValueError):
        return []
    starts = _line_starts(source)
    found: list[Piece] = []
    spans = set()

    def span(node):
        return (_char_offset(source, starts, node.lineno, node.col_offset),
                _char_offset(source, starts, node.end_lineno, node.end_col_offset))

    for node in _docstring_nodes(tree):
        start, end = span(node)
        literal = _single_literal(source[start:end])
        piece = literal and _docstring_piece(literal, start, end, node.lineno)
        if piece:
            found.append(piece)
            spans.add((start, end))
    for node, formatting in _message_nodes(tree):
        start, end = span(node)
        if (start, end) in spans:
            continue
        literal = _single_literal(source[start:end])
        piece = literal and _message_piece(literal, start, end, node.lineno, formatting)
        if piece:
            found.append(piece)
            spans.add((start, end))
    found += _comment_pieces(source, starts)
    return sorted(found, key=lambda p: p.start)


def messages(source: str) -> list[tuple[str, str]]:
    """(kind, English text) of every message of ``source``, in order (repeats included)."""
    return [(p.kind, text) for p in pieces(source) for text in p.texts]


# --------------------------------------------------------------------------- translating


def translate(source: str, lookup: Lookup) -> str:
    """``source`` with every message that ``lookup`` translates replaced; everything else byte for byte."""
    out, pos = [], 0
    for piece in pieces(source):
        def tr(text, kind=piece.kind):
            new = lookup(kind, text)
            return text if new is None else new
        out.append(source[pos:piece.start])
        out.append(piece.render(tr))
        pos = piece.end
    out.append(source[pos:])
    return "".join(out)


class _Blank(ast.NodeTransformer):
    """Docstrings and message literals become one marker string (an f-string's placeholders are checked apart)."""

    def __init__(self, tree):
        self.targets = {id(n) for n in _docstring_nodes(tree)} | {id(n) for n, _ in _message_nodes(tree)}

    def visit(self, node):
        if id(node) in self.targets:
            return ast.Constant(value="<text>")
        return super().visit(node)


def skeleton(source: str) -> str | None:
    """The syntax tree of ``source`` with its docstrings and messages blanked (None if it does not parse): two
    cells with the same skeleton run the same code; only what they say differs."""
    try:
        tree = syntax_trees.parse(source)
    except (SyntaxError, ValueError):
        return None
    return ast.dump(_Blank(tree).visit(tree), include_attributes=False)


# --------------------------------------------------------------------------- checking


def _fields(piece: Piece, body: str) -> Counter | list | None:
    """What a message's formatting needs back from its translation: an f-string's placeholders (any order), a
    format string's fields (in order when numbered automatically), a %-string's conversions (in order)."""
    literal = piece.literal(body)
    try:
        node = syntax_trees.parse(literal, mode="eval").body
    except SyntaxError:
        return None
    if piece.formatting == "f":
        if not isinstance(node, ast.JoinedStr):
            return Counter()
        return Counter(ast.dump(v, include_attributes=False) for v in node.values if isinstance(v, ast.FormattedValue))
    value = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""
    if piece.formatting == "format":
        try:
            parsed = [(f, s, c) for _, f, s, c in string.Formatter().parse(value) if f is not None]
        except ValueError:
            return None
        return parsed if any(f == "" for f, _, _ in parsed) else Counter(parsed)
    if piece.formatting == "percent":
        return [m for m in _PERCENT.findall(value)]
    return Counter()


def piece_problems(piece: Piece, lookup: Lookup) -> list[str]:
    """What the translations of one piece break."""
    out = []
    for text in piece.texts:
        new = lookup(piece.kind, text)
        if new is None or new == text:
            continue
        short = text[:60].replace("\n", " ")
        if piece.kind == COMMENT:
            if piece.after_code and "\n" in new:
                out.append(f"line {piece.line}: a comment after code must stay on one line: {short!r}")
            continue
        if piece.kind == DOCSTRING:
            literal = piece.render(lambda t: new if t == text else t)
        else:
            literal = piece.literal(new)
        if _single_literal(literal) is None:
            out.append(f"line {piece.line}: the translation breaks the string's quotes {piece.quote} (a quote or "
                       f"backslash in it?): {short!r}")
            continue
        if piece.kind == MESSAGE and _fields(piece, text) != _fields(piece, new):
            out.append(f"line {piece.line}: the translation does not keep the placeholders of {short!r}")
    return out


def problems(source: str, lookup: Lookup) -> list[str]:
    """What translating ``source`` breaks: a piece's own problems, then whether the result still parses and runs
    the same code (same skeleton)."""
    found = [p for piece in pieces(source) for p in piece_problems(piece, lookup)]
    translated = translate(source, lookup)
    if skeleton(translated) is None:
        found.append("the translated cell is not valid Python")
    elif skeleton(translated) != skeleton(source):
        found.append("the translated cell runs different code (its syntax tree differs beyond the messages)")
    return found
