"The package's modules import each other without a circle: each concern builds only on those below it."
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]/'ravdess_emo'


def imports_of(path: Path) -> set[str]:
    "The package modules a module imports anywhere in its source (at the top or inside a function)."
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module: found.add(node.module.split('.')[0])
            elif node.level == 1: found.update(a.name for a in node.names)
            elif node.module and node.module.startswith('ravdess_emo.'): found.add(node.module.split('.')[1])
            elif node.module == 'ravdess_emo': found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split('.')[1] for a in node.names if a.name.startswith('ravdess_emo.'))
    return found


def import_graph() -> dict[str, set[str]]:
    "Module -> the package modules it imports (the generated `_modidx` left out)."
    modules = {p.stem: p for p in PACKAGE.glob('*.py') if p.stem not in ('__init__', '_modidx')}
    return {m: {d for d in imports_of(p) if d in modules and d != m} for m, p in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    "One import circle of the graph, as the modules along it, or None."
    state, stack = {}, []
    def visit(m):
        state[m] = 'open'; stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 'open': return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)): return found
        state[m] = 'done'; stack.pop()
        return None
    for m in sorted(graph):
        if m not in state and (found := visit(m)): return found
    return None


def test_find_cycle_finds_one():
    test_graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
    assert find_cycle(test_graph) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set(), 'c': {'a', 'b'}}) is None


def test_imports_of_reads_every_form(tmp_path):
    src = tmp_path/'m.py'
    src.write_text("from .runner import x\nfrom . import sweep\nimport ravdess_emo.pages\ndef f():\n    from ravdess_emo.config import y\n")
    assert imports_of(src) == {'runner', 'sweep', 'pages', 'config'}


def test_package_has_no_import_cycle():
    graph = import_graph()
    assert {'runner', 'sweep', 'config', 'summary'} <= set(graph)
    assert 'runner' in graph['sweep'] and 'sweep' not in graph['runner']  # the sweep builds on the runner, never the reverse
    assert find_cycle(graph) is None, f"import circle: {' -> '.join(find_cycle(graph))}"
