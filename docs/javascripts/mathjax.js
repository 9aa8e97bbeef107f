// MathJax for the formulas of the pages and of the notebooks. In the pages, pymdownx.arithmatex
// (generic mode) turns $...$ and $$...$$ into \(...\) and \[...\]; the notebooks' markdown cells
// keep their $...$ and $$...$$. Code blocks and cell outputs (pre, code) are never read, so a
// dollar sign there stays as it is.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true
  }
};

// Material's document$ emits each page it shows (instant navigation too): typeset it.
document$.subscribe(() => {
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
