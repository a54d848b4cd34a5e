// Draws every chart on the page from its figure, kept in a JSON data block beside it (no inline
// script runs). Each chart enhances a table that is always on the page.
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("[data-figure]").forEach(function (element) {
      var source = document.getElementById(element.dataset.figure);
      if (!source || !window.Plotly) {
        return;
      }
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(element, figure.data, figure.layout, {
        responsive: true,
        // No mode bar: its buttons inside the chart's image role would be nested controls,
        // and the table beneath the chart gives every figure.
        displayModeBar: false,
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
