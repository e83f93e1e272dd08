/* The dashboards' charts (bureau/dashboards/charts.py), drawn with the vendored Chart.js;
   no build step. Each <canvas data-chart="ID"> draws the JSON of the element ID (Django's
   json_script); after an htmx swap the new canvases are drawn. The table beside each
   chart holds the same figures. */
(function () {
  "use strict";

  function draw(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      var existing = Chart.getChart(canvas);
      if (existing) existing.destroy();
      new Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          spanGaps: true,
          scales: {
            x: { stacked: !!spec.stacked },
            y: {
              stacked: !!spec.stacked,
              beginAtZero: true,
              ticks: spec.percent ? { callback: function (v) { return Math.round(v * 100) + "%"; } } : {}
            }
          }
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
