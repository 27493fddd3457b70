"""The keyword query language: text -> syntax tree, with errors that name the column.

Grammar (operators are upper case; juxtaposition means AND)::

    query   := or EOF
    or      := and ("OR" and)*
    and     := near (["AND"] near)*
    near    := unary ("NEAR/n" unary)*
    unary   := "NOT" unary | primary
    primary := "(" or ")" | TERM | "PHRASE" | field:value

See docs/queries.md for the language as cell heads see it.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

from chalicelib.domain import text as textmod
from chalicelib.errors import FieldProblem, QuerySyntaxError

MAX_QUERY_CHARS = 2000
MAX_TERMS = 200
MAX_DEPTH = 10
MAX_NEAR = 50
MIN_WILDCARD_CHARS = 2
FIELDS = ("lang", "platform", "author")

_NEAR = regex.compile(r"NEAR/([0-9]+)")
_FIELD_LIKE = regex.compile(r"([A-Za-z]+):(.*)", regex.DOTALL)


@dataclass(frozen=True)
class Term:
    """A word, phrase, ``#hashtag`` or ``@handle`` with its tokens in the three matched forms
    (folded, romanized key, exact) and whether its last word is a ``*`` prefix."""

    display: str
    kind: str  # "words", "hashtag" or "handle"
    folds: tuple[str, ...]
    romans: tuple[str, ...]
    exacts: tuple[str, ...]
    wildcard: bool
    column: int


@dataclass(frozen=True)
class Field:
    """A filter on the post's metadata: ``lang:hi``, ``platform:x``, ``author:name``."""

    name: str
    value: str
    column: int


@dataclass(frozen=True)
class Not:
    """True when the child is false; contributes no highlighted terms."""

    child: Node
    column: int


@dataclass(frozen=True)
class And:
    """True when every child is (``a AND b`` or ``a b``)."""

    children: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Or:
    """True when any child is."""

    children: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Near:
    """Both sides occur, in either order, with at most ``distance`` words between them."""

    left: Node
    right: Node
    distance: int
    column: int


Node = Term | Field | Not | And | Or | Near


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(", ")", "AND", "OR", "NOT", "NEAR", "TERM", "PHRASE", "FIELD", "EOF"
    text: str
    column: int
    value: int = 0


def _error(message: str, column: int) -> QuerySyntaxError:
    return QuerySyntaxError(message, [FieldProblem("query", message)], column=column)


def _describe(tok: _Tok) -> str:
    if tok.kind == "EOF":
        return "end of query"
    return f"'{tok.text}'"


def _lex(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    n = len(query)
    while i < n:
        ch = query[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok(ch, ch, col))
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise _error(
                    f"unterminated phrase: no closing '\"' for the one at column {col}", col
                )
            toks.append(_Tok("PHRASE", query[i + 1 : close], col))
            i = close + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"':
                j += 1
            toks.append(_word_token(query[i:j], col))
            i = j
    toks.append(_Tok("EOF", "", n + 1))
    return toks


def _word_token(word: str, col: int) -> _Tok:
    if word in ("AND", "OR", "NOT"):
        return _Tok(word, word, col)
    if word.startswith("NEAR"):
        m = _NEAR.fullmatch(word)
        if m is None:
            raise _error(f"expected NEAR/n (n a number of words) at column {col}", col)
        distance = int(m.group(1))
        if distance > MAX_NEAR:
            raise _error(
                f"NEAR/{distance} at column {col}: the largest distance is {MAX_NEAR}", col
            )
        return _Tok("NEAR", word, col, distance)
    m = _FIELD_LIKE.fullmatch(word)
    if m is not None:
        name = m.group(1).lower()
        if name not in FIELDS:
            raise _error(
                f"unknown field '{m.group(1)}:' at column {col}: "
                "expected lang:, platform: or author:",
                col,
            )
        if not m.group(2):
            raise _error(f"expected a value after '{m.group(1)}:' at column {col}", col)
        return _Tok("FIELD", word, col)
    return _Tok("TERM", word, col)


class _Parser:
    def __init__(self, query: str) -> None:
        self.toks = _lex(query)
        self.i = 0
        self.terms = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "EOF":
            raise _error("empty query: expected a term, a \"phrase\" or '('", 1)
        node = self.or_(0)
        if self.tok.kind != "EOF":
            raise _error(
                f"unexpected {_describe(self.tok)} at column {self.tok.column}", self.tok.column
            )
        return node

    def or_(self, depth: int) -> Node:
        first = self.and_(depth)
        children = [first]
        while self.tok.kind == "OR":
            self.take()
            children.append(self.and_(depth))
        return first if len(children) == 1 else Or(tuple(children), _column(first))

    def and_(self, depth: int) -> Node:
        first = self.near(depth)
        children = [first]
        while True:
            if self.tok.kind == "AND":
                self.take()
            elif self.tok.kind not in ("TERM", "PHRASE", "FIELD", "NOT", "("):
                break
            children.append(self.near(depth))
        return first if len(children) == 1 else And(tuple(children), _column(first))

    def near(self, depth: int) -> Node:
        node = self.unary(depth)
        while self.tok.kind == "NEAR":
            op = self.take()
            right = self.unary(depth)
            for side in (node, right):
                if not _proximity_operand(side):
                    raise _error(
                        f"{op.text} at column {op.column} needs terms, phrases or OR-groups of "
                        "them on both sides (no NOT, AND or field filters)",
                        op.column,
                    )
            node = Near(node, right, op.value, op.column)
        return node

    def unary(self, depth: int) -> Node:
        if self.tok.kind == "NOT":
            op = self.take()
            self.check_depth(depth + 1, op.column)
            return Not(self.unary(depth + 1), op.column)
        return self.primary(depth)

    def primary(self, depth: int) -> Node:
        tok = self.tok
        if tok.kind == "(":
            self.take()
            self.check_depth(depth + 1, tok.column)
            if self.tok.kind == ")":
                raise _error(f"empty parentheses at column {tok.column}", self.tok.column)
            node = self.or_(depth + 1)
            if self.tok.kind != ")":
                raise _error(
                    f"expected ')' to close the '(' at column {tok.column} but found "
                    f"{_describe(self.tok)} at column {self.tok.column}",
                    self.tok.column,
                )
            self.take()
            return node
        if tok.kind in ("TERM", "PHRASE"):
            self.take()
            self.terms += 1
            if self.terms > MAX_TERMS:
                raise _error(
                    f"too many terms: the limit is {MAX_TERMS} (term at column {tok.column})",
                    tok.column,
                )
            return make_term(tok.text, tok.column, quoted=tok.kind == "PHRASE")
        if tok.kind == "FIELD":
            self.take()
            name, _, value = tok.text.partition(":")
            return Field(name.lower(), _field_value(name.lower(), value), tok.column)
        raise _error(
            f"unexpected {_describe(tok)} at column {tok.column}: "
            "expected a term, a \"phrase\", a field filter or '('",
            tok.column,
        )

    def check_depth(self, depth: int, column: int) -> None:
        if depth > MAX_DEPTH:
            raise _error(f"nesting deeper than {MAX_DEPTH} levels at column {column}", column)


def _field_value(name: str, value: str) -> str:
    value = value.casefold()
    return value.lstrip("@") if name == "author" else value


def _column(node: Node) -> int:
    return node.column


def _proximity_operand(node: Node) -> bool:
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Or):
        return all(_proximity_operand(c) for c in node.children)
    return False


def make_term(raw: str, column: int, *, quoted: bool) -> Term:
    """Fold one term or phrase the way post text is folded."""
    body = raw.strip()
    wildcard = body.endswith("*")
    if wildcard:
        body = body[:-1]
    if "*" in body:
        where = column + (1 if quoted else 0) + raw.index("*")
        raise _error(f"'*' is only allowed at the end of a term (column {where})", where)
    scanned = textmod.scan(body)
    if scanned.n_main == 0:
        what = "phrase" if quoted else "term"
        raise _error(f"{what} '{raw}' at column {column} has no letters or digits", column)
    display = raw.strip()
    if (
        not quoted
        and scanned.n_main < len(scanned.folds)
        and len(scanned.folds) == scanned.n_main + 2
    ):
        # One whole hashtag: matched as the tag, not as its words.
        tag = scanned.starts[-1], scanned.ends[-1]
        if tag == (0, len(body)):
            term = Term(
                display,
                "hashtag",
                (scanned.folds[-1],),
                (scanned.romans[-1],),
                (scanned.exacts[-1],),
                wildcard,
                column,
            )
            _check_wildcard(term, raw, column)
            return term
    kind = "words"
    main = scanned.n_main
    whole = (scanned.starts[0], scanned.ends[0]) == (0, len(body))
    if not quoted and main == 1 and scanned.folds[0].startswith("@") and whole:
        kind = "handle"
    term = Term(
        display,
        kind,
        tuple(scanned.folds[:main]),
        tuple(scanned.romans[:main]),
        tuple(scanned.exacts[:main]),
        wildcard,
        column,
    )
    _check_wildcard(term, raw, column)
    return term


def _check_wildcard(term: Term, raw: str, column: int) -> None:
    if term.wildcard and len(term.folds[-1].lstrip("#@")) < MIN_WILDCARD_CHARS:
        raise _error(
            f"wildcard '{raw}' at column {column} needs at least {MIN_WILDCARD_CHARS} "
            "letters before '*'",
            column,
        )


def anchored(node: Node) -> bool:
    """Whether every post the node matches must contain one of its terms."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Field | Not):
        return False
    if isinstance(node, And):
        return any(anchored(c) for c in node.children)
    return all(anchored(c) for c in node.children)


def parse(query: str) -> Node:
    """Parse a query; raises ``QuerySyntaxError`` naming the column and what was expected."""
    if len(query) > MAX_QUERY_CHARS:
        raise _error(
            f"query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}",
            MAX_QUERY_CHARS + 1,
        )
    node = _Parser(query).parse()
    if not anchored(node):
        raise _error(
            "the query needs a term outside NOT on every OR branch; as written it would "
            "match posts that contain none of its terms",
            0,
        )
    return node
