"""MkDocs hooks of the keras_mmvae site (registered in `mkdocs.yml`).

Everything here works offline and writes nothing into `docs/`:

* **MathJax 3** is copied from the `django-static-mathjax` wheel (the
  `[docs]` extra) into `assets/mathjax/tex-svg.js` (one self-contained
  2.1 MB script; SVG output needs no web fonts), so pages load math
  support from the site itself, never from a CDN.
* **The fusion figure** is drawn in memory by `docs/scripts/fusion_figure.py`
  and added as `assets/generated/fusion_1d.png`; the worked-example table of
  `concepts/barycenters.md` is computed by the same script with the
  library's ops and replaces the marker `<!-- worked-example-table -->`.
* **Reference settings**: `<!-- reference-model:<benchmark> -->` on the
  benchmark pages becomes a table read from the model that
  `mm.models.<benchmark>()` builds and from `mm.models.HYPERPARAMETERS`.
* **The tutorials** `tutorials/*.py` (jupytext percent format) become
  executed notebooks `tutorials/<name>.ipynb` (see
  `docs/scripts/notebooks.py`), rendered by mkdocs-jupyter. A notebook that
  `tests/tutorials` already executed from the same sources, library, backend
  and mode is re-used; otherwise it is executed here in small mode. For
  quick local previews only: `KERAS_MMVAE_DOCS_EXECUTE=0` renders the
  tutorials without outputs, `KERAS_MMVAE_DOCS_EXECUTE=cached` shows the
  last executed notebooks even if the sources changed since.
"""

import importlib.metadata
import logging
import os
import pathlib
import re
import sys

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

SCRIPTS = pathlib.Path(__file__).resolve().parent / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import fusion_figure  # noqa: E402
import notebooks  # noqa: E402

log = logging.getLogger("mkdocs.hooks.keras_mmvae")

MATHJAX_DIST = "django-static-mathjax"
MATHJAX_ES5 = "mathjax/static/mathjax/es5"
MATHJAX_URI = "assets/mathjax/tex-svg.js"
FIGURE_URI = "assets/generated/fusion_1d.png"
MARKERS = {
    "<!-- worked-example-table -->": lambda: fusion_figure.markdown_table(),
    "<!-- w2-objective -->": lambda: f"{fusion_figure.w2_objective():g}",
}
REFERENCE_MARKER = re.compile(r"<!-- reference-model:(\w+) -->")


def reference_model_table(benchmark):
    """Settings of `mm.models.<benchmark>()`, read from the built model.

    Building the reference models takes a while (CelebA's has tens of
    millions of weights), so the table is cached under `build/docs/`,
    keyed by the library's sources.
    """
    import json

    key = notebooks.library_digest()
    cache = notebooks.ROOT / "build" / "docs" / f"reference_{benchmark}.json"
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            return stored["table"]
    table = _build_reference_table(benchmark)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "table": table}))
    return table


def _build_reference_table(benchmark):
    import keras_mmvae.models as models

    hp = models.HYPERPARAMETERS[benchmark]
    vae = getattr(models, benchmark)(seed=0)
    rows = [
        ("modalities", ", ".join(f"`{n}`" for n in vae.modality_names)),
        ("fusion (factory default)", f"`{vae.fusion_spec}`"),
        ("shared latent size", vae.latent_dim),
    ]
    if vae.uses_style:
        rows.append(("style latent size per modality",
                     ", ".join(f"{n}: {d}" for n, d in vae.style_dims.items())))
        rows.append(("β_content, β_style", f"{vae.beta_content:g}, "
                     f"{vae.beta_style:g}"))
        rows.append(("style KL weights", ", ".join(
            f"{n}: {w:g}" for n, w in vae.style_betas.items())))
    rows += [
        ("β", f"{vae.beta:g}"),
        ("likelihoods", ", ".join(f"{n}: `{lik!r}`"
                                  for n, lik in vae.likelihoods.items())),
        ("reconstruction weights", ", ".join(
            f"{n}: {w:.4g}" for n, w in vae.reconstruction_weights.items())),
        ("optimizer", f"Adam, learning rate {hp['learning_rate']:g}"),
        ("batch size", hp["batch_size"]),
        ("epochs", hp["epochs"]),
        ("evaluation every", f"{hp['eval_every']} epoch(s)"),
        ("trainable parameters", f"{vae.count_params():,}"),
    ]
    lines = ["| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def _mathjax_files(config):
    try:
        dist = importlib.metadata.distribution(MATHJAX_DIST)
    except importlib.metadata.PackageNotFoundError as error:
        raise PluginError(
            "MathJax is served from the 'django-static-mathjax' wheel; "
            "install the docs extra (`pip install -e .[docs]`) or "
            "`pip install --no-deps django-static-mathjax==3.2.2.1`."
        ) from error
    # The SVG output needs no web fonts: one self-contained script.
    script = pathlib.Path(dist.locate_file(MATHJAX_ES5)) / "tex-svg.js"
    if not script.exists():
        raise PluginError(f"MathJax's {script} is missing.")
    return [File.generated(config, MATHJAX_URI, abs_src_path=str(script))]


def _tutorial_files(config):
    backend = notebooks.current_backend()
    mode = os.environ.get(notebooks.MODE_VARIABLE, "small")
    policy = os.environ.get("KERAS_MMVAE_DOCS_EXECUTE", "1")
    out = []
    for source in notebooks.tutorial_sources():
        stale = notebooks.executed_path(source, backend, mode)
        if policy == "cached" and stale.exists():
            path = stale
            log.info("tutorial %s: showing the last executed notebook, "
                     "possibly stale", source.stem)
        elif policy != "0":
            try:
                path, seconds, was_cached = notebooks.executed(
                    source, backend, mode)
            except Exception as error:  # noqa: BLE001
                raise PluginError(
                    f"Tutorial {source.name} failed on backend {backend!r} "
                    f"in {mode} mode:\n{error}"
                ) from error
            how = "re-used" if was_cached else f"executed in {seconds:.1f} s"
            log.info("tutorial %s (%s, %s): %s", source.stem, backend, mode,
                     how)
        else:
            path = _unexecuted(source)
        # A plain File rooted at the cache folder, not `File.generated`:
        # mkdocs-jupyter's wrapper recomputes `abs_src_path` from `src_dir`.
        out.append(File(f"tutorials/{source.stem}.ipynb",
                        src_dir=str(path.parent.parent),
                        dest_dir=config.site_dir,
                        use_directory_urls=config.use_directory_urls))
    return out


def _unexecuted(source):
    import jupytext

    path = notebooks.CACHE / "unexecuted" / "tutorials" / (
        source.stem + ".ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(source), path, fmt="ipynb")
    return path


# Runs before mkdocs-jupyter's own `on_files`, which must see the notebooks.
@event_priority(100)
def on_files(files, config):
    for file in _mathjax_files(config):
        files.append(file)
    files.append(File.generated(config, FIGURE_URI,
                                content=fusion_figure.render_png()))
    for file in _tutorial_files(config):
        files.append(file)
    return files


# nbconvert's page template adds a MathJax 2 loader (empty URL here: the
# site's own MathJax 3 renders the notebooks' math) and a Mermaid loader that
# would import from a CDN if a notebook had a Mermaid diagram. The tutorials
# have none; drop both so no page references anything outside the site.
_NBCONVERT_LOADERS = (
    re.compile(r'<script src="">\s*</script>'),
    re.compile(r'<script type="module">(?:(?!</script>).)*?jp-Mermaid'
               r'.*?</script>', re.DOTALL),
)


def on_post_page(output, page, config):
    if page.file.src_uri.startswith("tutorials/") and page.file.src_uri.endswith(
            ".ipynb"):
        for pattern in _NBCONVERT_LOADERS:
            output = pattern.sub("", output)
    return output


def on_page_markdown(markdown, page, config, files):
    for marker, make in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return REFERENCE_MARKER.sub(
        lambda match: reference_model_table(match.group(1)), markdown)
