// MathJax 3 configuration for pymdownx.arithmatex (generic mode) and for the
// Markdown cells of the rendered tutorials. MathJax itself is served from
// assets/mathjax/tex-svg.js (copied from the django-static-mathjax wheel by
// docs/hooks.py), so no page loads anything from a CDN.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  // Not Material's `ignoreHtmlClass: ".*|"`: that stops MathJax from
  // descending into the notebook cells' classed containers, so the
  // tutorials' `$...$` would stay raw. Code and pre blocks are skipped by
  // MathJax's defaults; the Markdown pages' math comes as arithmatex spans.
  options: {
    ignoreHtmlClass: "tex2jax_ignore",
    processHtmlClass: "arithmatex|jp-MarkdownOutput",
  },
};

// Material emits document$ on every page load (and on instant navigation):
// typeset the new content once MathJax is ready.
document$.subscribe(() => {
  if (window.MathJax && MathJax.startup && MathJax.typesetPromise) {
    const output = MathJax.startup.output;
    if (output && typeof output.clearCache === "function") {
      output.clearCache();
    }
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  }
});
