"""QuickBooks' query language: parse ``SELECT ... FROM ...`` and run it over JSON objects.

The grammar QuickBooks documents::

    SELECT * | COUNT(*) | <prop>[, ...] FROM <Entity>
      [WHERE <prop> <op> <value> [AND ...]]
      [ORDERBY | ORDER BY <prop> [ASC|DESC][, ...]]
      [STARTPOSITION n] [MAXRESULTS n]

Operators are ``= < > <= >= IN LIKE``; there is no OR. Keywords and property names are
case-insensitive, strings are single-quoted with ``\\'`` for a quote.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from . import faults
from .values import looks_like_datetime, parse_datetime

DEFAULT_PAGE = 100
MAX_PAGE = 1000

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
    if start < 1:
        start = 1
    if limit < 1:
        raise faults.query_error("QueryValidationError: MAXRESULTS must be at least 1")
    return Query(
        entity=entity_token.text,
        count=count,
        fields=tuple(fields),
        where=tuple(where),
        order=tuple(order),
        start=start,
        limit=min(limit, MAX_PAGE),
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


# --- evaluation ----------------------------------------------------------------------


def resolve(obj: dict[str, Any], path: Path) -> Any:
    """The value at a dotted path, keys matched case-insensitively; refs give their value."""
    value: Any = obj
    for segment in path:
        if not isinstance(value, dict):
            return None
        if segment in value:
            value = value[segment]
            continue
        lowered = segment.lower()
        for key, item in value.items():
            if key.lower() == lowered:
                value = item
                break
        else:
            return None
    if isinstance(value, dict) and "value" in value:
        return value["value"]
    return value


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _comparable(field: Any, literal: Literal, numeric: bool) -> tuple[Any, Any] | None:
    """Field and literal brought to one comparable type, or None when they cannot be.

    ``numeric``: the property holds Ids (``Id``, ``CustomerRef``), compared as numbers.
    """
    if field is None or isinstance(field, dict | list):
        return None
    if isinstance(field, bool):
        if isinstance(literal, bool):
            return field, literal
        if isinstance(literal, str) and literal.lower() in ("true", "false"):
            return field, literal.lower() == "true"
        return None
    if isinstance(field, int | float | Decimal):
        number = _number(literal)
        return None if number is None else (_number(field), number)
    text = str(field)
    if isinstance(literal, str) and looks_like_datetime(text):
        left, right = parse_datetime(text), parse_datetime(literal)
        if left is not None and right is not None:
            return left, right
    if numeric and text.isdigit():
        right_number = _number(literal)
        if right_number is not None:
            return Decimal(text), right_number
    if isinstance(literal, bool):
        return text.lower(), str(literal).lower()
    return text.casefold(), str(literal).casefold()


@functools.lru_cache(maxsize=256)
def _like_pattern(pattern: str) -> re.Pattern[str]:
    regex = ".*".join(re.escape(part) for part in pattern.casefold().split("%"))
    return re.compile(regex, re.DOTALL)


def _like(field: Any, pattern: str) -> bool:
    if field is None or isinstance(field, dict | list | bool):
        return False
    return _like_pattern(pattern).fullmatch(str(field).casefold()) is not None


def _holds(pair: tuple[Any, Any], op: str) -> bool:
    left, right = pair
    if op == "=":
        return bool(left == right)
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def matches(obj: dict[str, Any], condition: Condition) -> bool:
    """Whether one object satisfies one condition."""
    field = resolve(obj, condition.path)
    if condition.op == "LIKE":
        return _like(field, str(condition.values[0]))
    numeric = condition.path[-1].lower().endswith(("id", "ref"))
    if condition.op == "IN":
        return any(
            pair is not None and _holds(pair, "=")
            for pair in (_comparable(field, value, numeric) for value in condition.values)
        )
    pair = _comparable(field, condition.values[0], numeric)
    return pair is not None and _holds(pair, condition.op)


def _sort_value(value: Any) -> tuple[Any, ...]:
    if value is None or isinstance(value, dict | list):
        return (0,)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float | Decimal):
        return (2, _number(value))
    text = str(value)
    if text.isdigit():
        return (2, Decimal(text))
    if looks_like_datetime(text):
        moment = parse_datetime(text)
        if moment is not None:
            return (3, moment)
    return (4, text.casefold())


def _id_key(obj: dict[str, Any]) -> tuple[Any, ...]:
    return _sort_value(obj.get("Id"))


def _path_key(path: Path) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    def key(obj: dict[str, Any]) -> tuple[Any, ...]:
        return _sort_value(resolve(obj, path))

    return key


def run(
    query: Query,
    objects: Iterable[dict[str, Any]],
    visible: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Filter, order and page ``objects``: (number matching, the page)."""
    rows = [
        obj
        for obj in objects
        if (visible is None or visible(obj)) and all(matches(obj, c) for c in query.where)
    ]
    if query.count:
        return len(rows), []
    rows.sort(key=_id_key)
    for path, descending in reversed(query.order):
        rows.sort(key=_path_key(path), reverse=descending)
    page = rows[query.start - 1 : query.start - 1 + query.limit]
    return len(rows), page


def names_active(query: Query) -> bool:
    """Whether the WHERE clause filters on ``Active`` (so inactive rows may show)."""
    return any(len(c.path) == 1 and c.path[0].lower() == "active" for c in query.where)
