/* The PMO dashboard's charts: each figure's data comes from the page (#dashboard-data). */
(function () {
  "use strict";
  var holder = document.getElementById("dashboard-data");
  if (!holder || typeof Chart === "undefined") { return; }
  var figures = JSON.parse(holder.textContent);
  var palette = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997",
                 "#6c757d", "#d63384"];
  Object.keys(figures).forEach(function (name) {
    var fig = figures[name];
    var canvas = document.getElementById("chart-" + name);
    if (!canvas || !fig.series) { return; }
    var keys = Object.keys(fig.series);
    var doughnut = fig.type === "doughnut";
    var datasets = keys.map(function (key, i) {
      var colour = palette[i % palette.length];
      return {
        label: key,
        data: fig.series[key],
        backgroundColor: doughnut ? palette.slice(0, fig.labels.length) : colour,
        borderColor: colour,
        spanGaps: true,
        tension: 0.25
      };
    });
    var scales = doughnut ? {} : {
      x: { stacked: !!fig.stacked },
      y: { stacked: !!fig.stacked, beginAtZero: true }
    };
    new Chart(canvas, {
      type: fig.type,
      data: { labels: fig.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        indexAxis: (fig.type === "bar" && fig.labels.length > 8 && !fig.stacked && !fig.columns) ? "y" : "x",
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: scales
      }
    });
  });
}());
