"""Runs the Python code blocks of the documentation pages and the README.

Every fenced block opened with exactly `` ```python `` in `docs/**/*.md`
and in the repository's `README.md` (also indented, inside admonitions and
tabs) is executed, page by page, in one namespace per page and in order,
under the current `KERAS_BACKEND`. The pages a new user starts from
(`README.md`, `docs/index.md`, `docs/getting-started.md`) are always in
the list, so their examples run with the install line they show.
Blocks that need data or hardware the tests do not have are fenced as
`` ```py `` instead: they are highlighted the same way but not run.

Also checks the numbers that the docs build computes (the worked example
of `concepts/barycenters.md`, drawn by `docs/scripts/fusion_figure.py`)
against the closed forms of the method specification.
"""

import importlib.util
import pathlib
import re
import textwrap

import pytest

pytestmark = pytest.mark.one_backend

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
OPEN = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*$")


def python_blocks(text):
    """`(line number, code)` of each ```python block of a Markdown text."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = OPEN.match(lines[i])
        if not match:
            i += 1
            continue
        indent, start, body = match.group("indent"), i + 1, []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(
            line[len(indent):] if line.startswith(indent) else line
            for line in body))
        blocks.append((start, code))
        i += 1
    return blocks


# The pages a new user reads first: always run, blocks or not.
ENTRY_PAGES = [ROOT / "README.md", DOCS / "index.md",
               DOCS / "getting-started.md"]
PAGES = ENTRY_PAGES + sorted(
    p for p in DOCS.rglob("*.md")
    if p not in ENTRY_PAGES and python_blocks(p.read_text()))


@pytest.mark.parametrize("page", PAGES,
                         ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_code_runs(page):
    namespace = {"__name__": f"docs_{page.stem}"}
    for line, code in python_blocks(page.read_text()):
        compiled = compile(code, f"{page.relative_to(ROOT)}:{line}", "exec")
        exec(compiled, namespace)  # noqa: S102 - the docs' own examples


def test_entry_pages_have_examples():
    # The README's and the home page's examples are what a new user runs
    # first; losing their `python` fence would silently stop testing them.
    assert python_blocks((ROOT / "README.md").read_text())
    assert python_blocks((DOCS / "index.md").read_text())


def _fusion_figure():
    spec = importlib.util.spec_from_file_location(
        "keras_mmvae_docs_fusion_figure",
        DOCS / "scripts" / "fusion_figure.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_worked_example_matches_the_method_specification():
    figure = _fusion_figure()
    rows = {key: (mean, var) for key, _, mean, var in figure.worked_example()}
    expected = {  # q1 = N(0, 1), q2 = N(2, 3²), λ = (½, ½)
        "mvae_prior": (2 / 19, 9 / 19),  # 0.105263, 0.473684
        "mvae": (0.2, 0.9),
        "reverse_kl": (0.2, 1.8),
        "w2": (1.0, 4.0),
        "moe": (1.0, 6.0),
    }
    assert set(rows) == set(expected)
    for key, (mean, var) in expected.items():
        assert rows[key][0] == pytest.approx(mean, abs=1e-5), key
        assert rows[key][1] == pytest.approx(var, rel=1e-5), key
    variances = [var for _, _, _, var in figure.worked_example()]
    assert variances == sorted(variances)  # the variance ordering
    assert figure.w2_objective() == pytest.approx(2.0, rel=1e-5)
    table = figure.markdown_table()
    assert "0.105263" in table and "0.473684" in table


def test_fusion_figure_renders_a_png():
    png = _fusion_figure().render_png(dpi=40)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


def test_barycenter_page_has_the_generated_parts():
    page = (DOCS / "concepts" / "barycenters.md").read_text()
    assert "<!-- worked-example-table -->" in page
    assert "../assets/generated/fusion_1d.png" in page
