#!/usr/bin/env python3
"""Which metrics the scheduler's services emit, and whether the alert rules and the Grafana
dashboard name only those.

The emitted names are read from the source code, never from a list kept by hand: every
`new Counter|Gauge|Histogram|Summary({ name: ... })` in packages/*/src and services/*/src (names
written as 'scheduler_x' or `${METRIC_PREFIX}x`), the process and Node.js metrics of prom-client
when a service calls collectDefaultMetrics, and the series Prometheus itself writes (`up`, ...).
Names the services will emit but do not yet are listed in deploy/monitoring/pending-metrics.txt,
each with the reason; a pending name that the source now emits is reported so it can be removed.

  metric_names.py emitted                      the emitted names, one a line
  metric_names.py inventory                    a Markdown table of them (docs/operations.md)
  metric_names.py check FILE...                rule files (.yml) and dashboards (.json): every
                                               metric they name is emitted or pending; exit 1 if not
  metric_names.py dashboard-rules DASHBOARD    every PromQL expression of a dashboard as a rule
                                               file, so that `promtool check rules` parses them
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PENDING_FILE = ROOT / "deploy/monitoring/pending-metrics.txt"
METRIC_PREFIX = "scheduler_"

# Series Prometheus writes for every target.
PROMETHEUS_SERIES = {
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass
class Metric:
    name: str
    kind: str
    labels: list[str] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    help: str = ""


_NEW_METRIC = re.compile(r"new\s+(Counter|Gauge|Histogram|Summary)\s*(?:<[^>]*>)?\s*\(\s*\{")
_NAME = re.compile(r"""name:\s*(?:['"](?P<plain>[a-zA-Z_:][a-zA-Z0-9_:]*)['"]|`\$\{METRIC_PREFIX\}(?P<prefixed>[a-zA-Z0-9_:]+)`)""")
_LABELS = re.compile(r"labelNames:\s*\[([^\]]*)\]")
_HELP = re.compile(r"""help:\s*(['"`])(?P<help>.*?)\1""", re.S)


def source_files() -> list[Path]:
    files: list[Path] = []
    for pattern in ("packages/*/src/**/*.ts", "services/*/src/**/*.ts"):
        files.extend(p for p in ROOT.glob(pattern) if "node_modules" not in p.parts)
    return sorted(files)


def emitted_metrics() -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    default_metrics = False
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(ROOT))
        if "collectDefaultMetrics(" in text:
            default_metrics = True
        for match in _NEW_METRIC.finditer(text):
            # The options object: up to its closing brace at the same depth.
            depth, end = 1, match.end()
            while end < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            body = text[match.end() : end]
            name_match = _NAME.search(body)
            if not name_match:
                continue
            name = name_match.group("plain") or METRIC_PREFIX + name_match.group("prefixed")
            labels_match = _LABELS.search(body)
            labels = re.findall(r"['\"]([a-zA-Z_][a-zA-Z0-9_]*)['\"]", labels_match.group(1)) if labels_match else []
            help_match = _HELP.search(body)
            metric = metrics.setdefault(name, Metric(name, match.group(1).lower(), labels))
            metric.sources.add(service_of(rel))
            if help_match and not metric.help:
                metric.help = " ".join(help_match.group("help").split())
    if default_metrics:
        for name, kind in prom_client_default_metrics().items():
            metrics.setdefault(name, Metric(name, kind, [], {"prom-client defaults"}))
    return metrics


def service_of(rel: str) -> str:
    parts = rel.split("/")
    return f"{parts[0]}/{parts[1]}"


def prom_client_default_metrics() -> dict[str, str]:
    """The names prom-client's collectDefaultMetrics registers, read from the installed library."""
    found: dict[str, str] = {}
    for lib in ROOT.glob("node_modules/.pnpm/prom-client@*/node_modules/prom-client/lib/metrics/*.js"):
        text = lib.read_text(encoding="utf-8")
        kind = "histogram" if "new Histogram" in text else "gauge"
        for name in re.findall(r"'((?:process|nodejs)_[a-z0-9_]+)'", text):
            found[name] = kind
    return found


def allowed_names(metrics: dict[str, Metric]) -> set[str]:
    names = set(PROMETHEUS_SERIES)
    for metric in metrics.values():
        names.add(metric.name)
        if metric.kind in ("histogram", "summary"):
            names.update(metric.name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return names


def pending_names() -> set[str]:
    names = set()
    for line in PENDING_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(line)
    return names


# ---------------------------------------------------------------- PromQL
_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
    "unless", "inf", "nan", "atan2", "start", "end",
}


def metric_names_in(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are neither functions, keywords,
    label names (inside {...}, by (...), on (...)), durations nor numbers."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    if "__name__" in text:
        # A name matched by a regular expression cannot be checked: name metrics plainly.
        raise ValueError(f"select metrics by their name, not by __name__: {expr}")
    names: set[str] = set()
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    for match in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in _KEYWORDS:
            continue
        names.add(word)
    return names


GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def dashboard_exprs(path: Path) -> list[tuple[str, str]]:
    """(where, expr) of every query of a dashboard: panel targets, rows' panels, variables."""
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    out: list[tuple[str, str]] = []

    def panels(items: list[dict]) -> None:
        for panel in items:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((f"panel '{panel.get('title')}' {target.get('refId', '')}", target["expr"]))
            panels(panel.get("panels", []))

    panels(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if variable.get("type") == "query" and query:
            label_values = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)\s*", query)
            out.append((f"variable '{variable.get('name')}'", label_values.group(1) if label_values else query))
    return out


def rule_exprs(path: Path) -> list[tuple[str, str]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        (f"rule {rule.get('alert') or rule.get('record')}", rule["expr"])
        for group in doc.get("groups", [])
        for rule in group.get("rules", [])
    ]


def exprs_of(path: Path) -> list[tuple[str, str]]:
    if path.suffix == ".json":
        return [(where, grafana_to_promql(expr)) for where, expr in dashboard_exprs(path)]
    return rule_exprs(path)


# ---------------------------------------------------------------- commands
def cmd_check(files: list[str]) -> int:
    metrics = emitted_metrics()
    emitted = allowed_names(metrics)
    pending = pending_names()
    failures = 0
    referenced: set[str] = set()
    for file in files:
        path = Path(file)
        exprs = exprs_of(path)
        if not exprs:
            print(f"{file}: no PromQL expression found", file=sys.stderr)
            failures += 1
        for where, expr in exprs:
            for name in sorted(metric_names_in(expr)):
                referenced.add(name)
                if name not in emitted and name not in pending:
                    print(f"{file}: {where} names {name}, which no service emits (and it is not in {PENDING_FILE.relative_to(ROOT)})", file=sys.stderr)
                    failures += 1
        print(f"{file}: {len(exprs)} expressions checked")
    for name in sorted(pending & emitted):
        print(f"note: {name} is emitted now; remove it from {PENDING_FILE.relative_to(ROOT)}")
    for name in sorted((pending & referenced) - emitted):
        print(f"pending (allow-listed, not emitted yet): {name}")
    return 1 if failures else 0


def cmd_inventory() -> int:
    metrics = emitted_metrics()
    print("| metric | type | labels (besides `service`) | emitted by | what |")
    print("| --- | --- | --- | --- | --- |")
    for metric in sorted(metrics.values(), key=lambda m: m.name):
        if not metric.name.startswith(METRIC_PREFIX):
            continue
        labels = ", ".join(f"`{label}`" for label in metric.labels) or "—"
        print(f"| `{metric.name}` | {metric.kind} | {labels} | {', '.join(sorted(metric.sources))} | {metric.help} |")
    return 0


def cmd_dashboard_rules(dashboard: str) -> int:
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr}
        for i, (_, expr) in enumerate(exprs_of(Path(dashboard)))
    ]
    yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, sys.stdout, sort_keys=False, width=1000)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[1] == "emitted":
        for name in sorted(emitted_metrics()):
            print(name)
        return 0
    if len(argv) >= 2 and argv[1] == "inventory":
        return cmd_inventory()
    if len(argv) >= 3 and argv[1] == "check":
        return cmd_check(argv[2:])
    if len(argv) == 3 and argv[1] == "dashboard-rules":
        return cmd_dashboard_rules(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
