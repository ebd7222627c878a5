// Dashboard live chart: fetch the proxy's counters every 2 s and update two Chart.js charts.
(function () {
  "use strict";
  const status = document.getElementById("chart-status");
  if (!status || typeof Chart === "undefined") { return; }
  const source = status.dataset.source;
  const colours = { monolith: "#7a5c00", service: "#1b6ec2", movies: "#c0392b", users: "#8e44ad",
                    payments: "#16a085", events: "#d35400", other: "#7f8c8d" };
  function lineChart(id, yMax) {
    return new Chart(document.getElementById(id), {
      type: "line",
      data: { labels: [], datasets: [] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 scales: { y: { beginAtZero: true, suggestedMax: yMax } },
                 elements: { point: { radius: 0 } } },
    });
  }
  const requests = lineChart("requests-chart", 10);
  const errors = lineChart("errors-chart", 1);
  function fill(chart, labels, series) {
    chart.data.labels = labels;
    chart.data.datasets = Object.keys(series).map(function (name) {
      return { label: name, data: series[name], borderColor: colours[name], backgroundColor: colours[name],
               borderWidth: 2, tension: 0.2 };
    });
    chart.update("none");
  }
  async function refresh() {
    try {
      const response = await fetch(source, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) { throw new Error(body.error || response.statusText); }
      fill(requests, body.labels, body.requests);
      fill(errors, body.labels, body.error_rate);
      const total = Object.values(body.totals).reduce(function (a, b) { return a + b; }, 0);
      status.textContent = total ? "Live: " + total + " requests in the last 60 s." : "No proxy traffic in the last 60 s.";
    } catch (err) {
      status.textContent = "Traffic chart unavailable: " + err.message;
    }
  }
  refresh();
  setInterval(refresh, 2000);
})();
