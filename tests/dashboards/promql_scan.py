"""A small PromQL scanner for the dashboard linter.

It does not evaluate or fully parse PromQL (promtool does that); it finds what
the dashboard-linter rules need: every vector selector with its metric name,
label matchers and range, and the function call that directly encloses it.
Grafana variables ($job, ${job}, $__rate_interval) may appear in strings and in
ranges.
"""

import re

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+|\[\[\w+(?::\w+)?\]\])
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+(?![\w.]))
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][\w:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@])
    """,
    re.X,
)

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
            "unless", "atan2", "inf", "nan"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
               "quantile", "limitk", "limit_ratio"}


class ScanError(Exception):
    """PromQL the scanner cannot follow; the message says where."""


class Selector:
    """One vector selector: `name{matchers}[range]`, and the function around it."""

    def __init__(self, metric, matchers, range_, function, text):
        self.metric = metric  # metric name, or None if only matchers select it
        self.matchers = matchers  # list of (label, op, value-without-quotes)
        self.range = range_  # text inside [...], or None for an instant selector
        self.function = function  # name of the directly enclosing call, or None
        self.text = text

    def has_matcher(self, label, op, value):
        return (label, op, value) in self.matchers


def tokenize(expr):
    tokens = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if not match:
            raise ScanError(f"unexpected character {expr[pos]!r} at offset {pos}")
        kind = match.lastgroup
        if kind not in ("space", "comment"):
            tokens.append((kind, match.group(), match.start()))
        pos = match.end()
    return tokens


def _unquote(text):
    return text[1:-1]


def selectors(expr):
    """Every vector selector of `expr`, in order; raises ScanError."""
    tokens = tokenize(expr)
    found = []
    # One entry per open "(": the function or aggregator it belongs to (or None
    # for grouping parentheses); label lists after `by`, `on`... are skipped.
    stack = []
    pending_function = None
    i = 0
    n = len(tokens)

    def skip_label_list(j):
        if j < n and tokens[j][1] == "(":
            depth = 0
            while j < n:
                if tokens[j][1] == "(":
                    depth += 1
                elif tokens[j][1] == ")":
                    depth -= 1
                    if depth == 0:
                        return j + 1
                j += 1
            raise ScanError("unclosed label list")
        return j

    def read_matchers(j):
        """Parses `{...}` from tokens[j] == "{"; returns (matchers, next index)."""
        matchers = []
        j += 1
        while j < n and tokens[j][1] != "}":
            if tokens[j][1] == ",":
                j += 1
                continue
            if j + 2 >= n or tokens[j][0] not in ("ident",) or tokens[j + 2][0] not in ("string", "var"):
                raise ScanError(f"malformed label matcher near offset {tokens[j][2]}")
            label, op, value = tokens[j][1], tokens[j + 1][1], tokens[j + 2]
            if op not in ("=", "!=", "=~", "!~"):
                raise ScanError(f"unknown matcher operator {op!r} near offset {tokens[j][2]}")
            matchers.append((label, op, _unquote(value[1]) if value[0] == "string" else value[1]))
            j += 3
        if j >= n:
            raise ScanError("unclosed '{'")
        return matchers, j + 1

    def read_range(j):
        """Parses an optional `[...]` at tokens[j]; returns (text or None, next index)."""
        if j < n and tokens[j][1] == "[":
            start = tokens[j][2]
            k = j + 1
            while k < n and tokens[k][1] != "]":
                k += 1
            if k >= n:
                raise ScanError("unclosed '['")
            return expr[start + 1:tokens[k][2]].strip(), k + 1
        return None, j

    while i < n:
        kind, text, offset = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < n else None
        if kind == "ident" and text.lower() in KEYWORDS:
            if text.lower() in LABEL_LIST_KEYWORDS:
                i = skip_label_list(i + 1)
            elif text.lower() == "offset":
                i += 2  # the duration
            else:
                i += 1
            continue
        if kind == "ident" and (nxt == "(" or (text in AGGREGATORS and nxt in ("by", "without"))):
            pending_function = text
            i += 1
            continue
        if text == "(":
            stack.append(pending_function)
            pending_function = None
            i += 1
            continue
        if text == ")":
            if not stack:
                raise ScanError(f"unbalanced ')' at offset {offset}")
            stack.pop()
            i += 1
            # `sum(x) by (label)`: the label list follows the call.
            continue
        if kind == "ident" or text == "{":
            metric = text if kind == "ident" else None
            j = i + 1 if kind == "ident" else i
            matchers = []
            if j < n and tokens[j][1] == "{":
                matchers, j = read_matchers(j)
            range_, j = read_range(j)
            if metric is None:
                for label, op, value in matchers:
                    if label == "__name__" and op == "=":
                        metric = value
            end = tokens[j - 1][2] + len(tokens[j - 1][1])
            found.append(Selector(metric, matchers, range_, stack[-1] if stack else None, expr[offset:end]))
            i = j
            continue
        if text == "[":
            # A subquery range after a parenthesised expression: skip it.
            _, i = read_range(i)
            continue
        i += 1
    if stack:
        raise ScanError("unclosed '('")
    return found
