"""QuickBooks' query language: parse ``SELECT ... FROM ...`` into a ``Query``.

The grammar QuickBooks documents::

    SELECT * | COUNT(*) | <prop>[, ...] FROM <Entity>
      [WHERE <prop> <op> <value> [AND ...]]
      [ORDERBY | ORDER BY <prop> [ASC|DESC][, ...]]
      [STARTPOSITION n] [MAXRESULTS n]

Operators are ``= < > <= >= IN LIKE``; there is no OR. Keywords and property names are
case-insensitive, strings are single-quoted with ``\\'`` for a quote. Running a parsed
query over objects is ``matching``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from . import faults

DEFAULT_PAGE = 100
MAX_PAGE = 1000
#: Query-time checks use 4001 "Invalid query" (12.4); syntax errors use 4000.
_TOO_LARGE = "QueryValidationError: value {} is too large. Max allowed value is {}"
_TOO_SMALL = "QueryValidationError: value {} is too small. Min allowed value is 1"

Literal = str | Decimal | bool
Path = tuple[str, ...]

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op><=|>=|<>|!=|=|<|>)
  | (?P<punct>[(),*;])
    """,
    re.VERBOSE,
)
_OPERATORS = frozenset({"=", "<", ">", "<=", ">="})


@dataclass(frozen=True)
class Condition:
    """One ``<prop> <op> <value>`` of a WHERE clause."""

    path: Path
    op: str  # "=", "<", ">", "<=", ">=", "IN" or "LIKE"
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Query:
    """A parsed query."""

    entity: str
    count: bool
    fields: tuple[Path, ...]
    where: tuple[Condition, ...]
    order: tuple[tuple[Path, bool], ...]  # (path, descending)
    start: int
    limit: int

    def paths(self) -> list[Path]:
        """Every property the query names (for checking them against the entity)."""
        return [*self.fields, *(c.path for c in self.where), *(p for p, _ in self.order)]


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int


def _tokens(sql: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        if match is None:
            raise _error(f'Lexical error at line 1, column {position + 1}. Encountered: "'
                         f'{sql[position]}"')
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    return tokens


def _error(detail: str) -> faults.ApiError:
    return faults.query_error(f"QueryParserError: {detail}")


class _Parser:
    def __init__(self, sql: str) -> None:
        self.tokens = _tokens(sql)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, expected: str) -> _Token:
        token = self.peek()
        if token is None:
            raise _error(f'Encountered "<EOF>" at line 1. Was expecting: {expected}')
        self.index += 1
        return token

    def unexpected(self, token: _Token, expected: str) -> faults.ApiError:
        return _error(
            f'Encountered " {token.text} " at line 1, column {token.column}. '
            f"Was expecting: {expected}"
        )

    def keyword(self, *words: str) -> bool:
        """Consume the keyword(s) if they come next."""
        for offset, word in enumerate(words):
            at = self.index + offset
            if at >= len(self.tokens):
                return False
            token = self.tokens[at]
            if token.kind != "name" or token.text.upper() != word:
                return False
        self.index += len(words)
        return True

    def expect_keyword(self, word: str) -> None:
        token = self.next(word)
        if token.kind != "name" or token.text.upper() != word:
            raise self.unexpected(token, word)

    def punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "punct" and token.text == char:
            self.index += 1
            return True
        return False

    def path(self) -> Path:
        token = self.next("<IDENTIFIER>")
        if token.kind != "name":
            raise self.unexpected(token, "<IDENTIFIER>")
        return tuple(token.text.split("."))

    def integer(self, keyword: str) -> int:
        token = self.next("<INTEGER>")
        if token.kind != "number" or not token.text.lstrip("-").isdigit():
            raise self.unexpected(token, f"<INTEGER> after {keyword}")
        return int(token.text)

    def literal(self) -> Literal:
        token = self.next("<STRING>")
        if token.kind == "string":
            return _unquote(token.text[1:-1])
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "name" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        raise self.unexpected(token, "<STRING>")


def _unquote(body: str) -> str:
    return re.sub(r"\\(.)", r"\1", body)


def parse(sql: str) -> Query:
    """Parse a query; raises the 4000 Fault QuickBooks answers for bad syntax."""
    parser = _Parser(sql)
    parser.expect_keyword("SELECT")
    count, fields = _select_list(parser)
    parser.expect_keyword("FROM")
    entity_token = parser.next("<ENTITY>")
    if entity_token.kind != "name" or "." in entity_token.text:
        raise parser.unexpected(entity_token, "<ENTITY>")
    where: list[Condition] = []
    if parser.keyword("WHERE"):
        where.append(_condition(parser))
        while parser.keyword("AND"):
            where.append(_condition(parser))
    order: list[tuple[Path, bool]] = []
    if parser.keyword("ORDERBY") or parser.keyword("ORDER", "BY"):
        while True:
            path = parser.path()
            descending = False
            if parser.keyword("DESC"):
                descending = True
            else:
                parser.keyword("ASC")
            order.append((path, descending))
            if not parser.punct(","):
                break
    start, limit = 1, DEFAULT_PAGE
    seen: set[str] = set()
    while True:
        if "STARTPOSITION" not in seen and parser.keyword("STARTPOSITION"):
            start = parser.integer("STARTPOSITION")
            seen.add("STARTPOSITION")
        elif "MAXRESULTS" not in seen and parser.keyword("MAXRESULTS"):
            limit = parser.integer("MAXRESULTS")
            seen.add("MAXRESULTS")
        else:
            break
    parser.punct(";")
    trailing = parser.peek()
    if trailing is not None:
        raise parser.unexpected(trailing, "<EOF>")
    # Out-of-range paging is refused, not capped (ruckus#24, RUBYFIX; 12.4). A
    # STARTPOSITION below 1 is refused the same way: the stricter reading.
    for value in (start, limit):
        if value < 1:
            raise faults.query_invalid(_TOO_SMALL.format(value))
    if limit > MAX_PAGE:
        raise faults.query_invalid(_TOO_LARGE.format(limit, MAX_PAGE))
    return Query(
        entity=entity_token.text,
        count=count,
        fields=tuple(fields),
        where=tuple(where),
        order=tuple(order),
        start=start,
        limit=limit,
    )


def _select_list(parser: _Parser) -> tuple[bool, list[Path]]:
    token = parser.peek()
    if token is not None and token.kind == "name" and token.text.upper() == "COUNT":
        parser.index += 1
        if not (parser.punct("(") and parser.punct("*") and parser.punct(")")):
            raise _error("COUNT takes (*)")
        return True, []
    fields: list[Path] = []
    while True:
        if not parser.punct("*"):
            fields.append(parser.path())
        if not parser.punct(","):
            return False, fields


def _condition(parser: _Parser) -> Condition:
    path = parser.path()
    token = parser.next("<OPERATOR>")
    if token.kind == "op" and token.text in _OPERATORS:
        return Condition(path, token.text, (parser.literal(),))
    if token.kind == "name" and token.text.upper() == "LIKE":
        value = parser.literal()
        if not isinstance(value, str):
            raise parser.unexpected(token, "<STRING> after LIKE")
        return Condition(path, "LIKE", (value,))
    if token.kind == "name" and token.text.upper() == "IN":
        if not parser.punct("("):
            raise _error("IN takes a parenthesised list")
        values = [parser.literal()]
        while parser.punct(","):
            values.append(parser.literal())
        if not parser.punct(")"):
            raise _error("IN list is not closed")
        return Condition(path, "IN", tuple(values))
    raise parser.unexpected(token, '"=" "<" ">" "<=" ">=" "IN" "LIKE"')
