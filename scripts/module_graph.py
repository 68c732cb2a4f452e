#!/usr/bin/env python3
"""The workspace's import graph, checked: no cycles and no arrows back up the layers.

Modules are source files. An import from module A to module B counts between the two
siblings under their nearest common ancestor (`crate::chat::service` using
`crate::models::catalogue` is an edge `chat -> models` inside `crate`); a module using
its own ancestor or descendant is not an edge. Test code (`tests.rs`, `*_tests.rs`,
`#[cfg(test)] mod ... { }`) is left out: tests may reach anywhere.

Checked:
  * no cycle among the siblings of any module, in every crate;
  * functions and the local stack depend only on shared (CRATE_DEPENDENCIES);
  * shared's top-level modules import only their own layer or a lower one (LAYERS below).

Usage: scripts/module_graph.py [--print]   (exit 1 with one line per finding)
"""

import re
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# shared's top-level modules, lowest layer first. A module may import modules of its own
# layer (no cycles, checked separately) or of any layer below it; never one above.
LAYERS = [
    # foundations: errors, SQL, the Data API, configuration, telemetry
    {"error", "sql", "data_api", "config", "telemetry", "cache", "action_state"},
    # identity, the HTTP edge, ports and the AWS adapters behind them, notifications
    {"auth", "roles", "http", "ports", "adapters", "sqs", "fetch", "notify"},
    # the knowledge pipeline's parts, the model providers and catalogue, settings, limits
    {"extract", "chunk", "providers", "embed", "ocr", "models", "tools", "settings", "rate_limit"},
    # the domain
    {"knowledge", "search", "ingest", "chat", "usage", "assistant", "chain", "executor", "schedule"},
    # the entry points that apply the schema
    {"migrate"},
]

# The workspace crates each folder's crates may depend on: functions and the local stack
# stand side by side on shared (the stack runs the functions as binaries, never links them).
CRATE_DEPENDENCIES = {"shared": set(), "functions": {"shared"}, "local": {"shared"}}


def strip_tests(text: str) -> str:
    """Removes `#[cfg(test)]` items (a `mod x { ... }` block or a `mod x;` line)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        j = m.end()
        brace = text.find("{", j)
        semi = text.find(";", j)
        if semi != -1 and (brace == -1 or semi < brace):
            i = semi + 1
            continue
        depth, k = 0, brace
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        i = k + 1
    out.append(text[i:])
    return "".join(out)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def is_test_file(path: Path) -> bool:
    return path.name == "tests.rs" or path.stem.endswith("_tests") or "tests" in path.parts[:-1]


def module_path(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


def use_paths(text: str):
    """Every path written after `use` (with its braces expanded) or inline as `crate::…`."""
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        tree = re.sub(r"\s+as\s+\w+", "", m.group(1))
        yield from expand(re.sub(r"\s+", "", tree))
    for m in re.finditer(r"(?<![\w:])((?:crate|super|self|shared)(?:::\w+)+)", text):
        yield m.group(1)


def expand(tree: str):
    """`a::{b,c::{d,e}}` -> a::b, a::c::d, a::c::e."""
    if "{" not in tree:
        yield tree
        return
    head, rest = tree.split("{", 1)
    body = rest[: rest.rfind("}")]
    depth, start, items = 0, 0, []
    for k, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(body[start:k])
            start = k + 1
    items.append(body[start:])
    for item in items:
        if item:
            for sub in expand(item):
                yield head + sub


def resolve(path: str, here: tuple, modules: set, crate_name: str):
    segs = path.split("::")
    if segs[0] == "crate" or segs[0] == crate_name:
        base, segs = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = here
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    else:
        return None
    target = base
    for s in segs:
        if target + (s,) in modules:
            target = target + (s,)
        else:
            break
    return target


def crate_graph(src: Path, crate_name: str):
    files = [f for f in src.rglob("*.rs") if not is_test_file(f.relative_to(src))]
    modules = {module_path(src, f) for f in files}
    edges = defaultdict(set)  # (parent, child_a) -> {child_b}
    where = {}
    for f in files:
        here = module_path(src, f)
        text = strip_tests(strip_comments(f.read_text()))
        for p in use_paths(text):
            there = resolve(p, here, modules, crate_name)
            if there is None or there == here:
                continue
            n = 0
            while n < min(len(here), len(there)) and here[n] == there[n]:
                n += 1
            if n == len(here) or n == len(there):
                continue  # ancestor or descendant
            parent = here[:n]
            a, b = here[n], there[n]
            edges[(parent, a)].add(b)
            where.setdefault((parent, a, b), (f.relative_to(ROOT), p))
    return edges, where


def cycles(edges):
    """Strongly connected components of more than one module, per parent."""
    by_parent = defaultdict(dict)
    for (parent, a), bs in edges.items():
        by_parent[parent][a] = bs
    found = []
    for parent, graph in by_parent.items():
        index, low, stack, on, counter = {}, {}, [], set(), [0]

        def visit(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph.get(v, ()):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append((parent, sorted(comp)))

        nodes = set(graph) | {w for ws in graph.values() for w in ws}
        for v in sorted(nodes):
            if v not in index:
                visit(v)
    return found


def crates():
    for manifest in sorted(ROOT.glob("**/Cargo.toml")):
        if "target" in manifest.parts or ".local" in manifest.parts or manifest.parent == ROOT:
            continue
        data = tomllib.loads(manifest.read_text())
        yield manifest.parent, data["package"]["name"], data


def allowed_dependencies(directory: Path):
    """The crates a crate in `directory` may depend on; None: any (the test crates)."""
    return CRATE_DEPENDENCIES.get(directory.relative_to(ROOT).parts[0])


def main() -> int:
    findings, printing = [], "--print" in sys.argv
    members = {name: d for d, name, _ in crates()}
    layer_of = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    for directory, name, data in crates():
        deps = set(data.get("dependencies", {})) & set(members)
        allowed = allowed_dependencies(directory)
        for dep in sorted(deps - allowed if allowed is not None else ()):
            findings.append(f"crate {name} depends on {dep}: it may depend only on {sorted(allowed)}")
        src = directory / "src"
        if not src.is_dir():
            continue
        edges, where = crate_graph(src, name.replace("-", "_"))
        for parent, comp in cycles(edges):
            inside = "::".join((name,) + parent)
            detail = "; ".join(
                f"{a}->{b} ({where[(parent, a, b)][0]}: {where[(parent, a, b)][1]})"
                for a in comp
                for b in sorted(edges[(parent, a)])
                if b in comp
            )
            findings.append(f"cycle in {inside}: {' <-> '.join(comp)}: {detail}")
        if name == "shared":
            unknown = {a for (p, a) in edges if p == ()} - set(layer_of)
            for m in sorted(unknown):
                findings.append(f"shared::{m} has no layer in scripts/module_graph.py LAYERS")
            for (parent, a), bs in sorted(edges.items()):
                if parent != ():
                    continue
                for b in sorted(bs):
                    if layer_of.get(b, -1) > layer_of.get(a, 99):
                        f, p = where[(parent, a, b)]
                        findings.append(f"shared::{a} imports shared::{b}, a layer above it ({f}: {p})")
        if printing:
            for (parent, a), bs in sorted(edges.items()):
                print(f"{'::'.join((name,) + parent + (a,))} -> {', '.join(sorted(bs))}")
    for line in findings:
        print(line)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
