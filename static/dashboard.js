// Dashboard history: one domain's charts over 5 min / 1 h / 24 h from /dashboard/history.json, with
// flag changes, plan steps and rollbacks drawn as dashed lines on the time axis. Refreshes every
// 10 s while the tab is visible (the rollup's resolution).
(function () {
  "use strict";
  const controls = document.getElementById("history-controls");
  const status = document.getElementById("chart-status");
  if (!controls || typeof Chart === "undefined") { return; }
  const colours = { monolith: "#7a5c00", service: "#1b6ec2", target: "#2e7d32", rollback: "#b3261e",
                    plan: "#6a3d9a", flag: "#5c6675" };
  let markers = [];
  let tickLength = 8;  // HH:MM:SS for 5 min, HH:MM for longer ranges

  function markerColour(m) {
    if (m.action === "flag.auto_rollback" || m.action === "flag.rollback" || m.action === "rollout.aborted") {
      return colours.rollback;
    }
    return m.action.indexOf("rollout.") === 0 ? colours.plan : colours.flag;
  }

  // Vertical dashed lines at the bins holding a change (drawn after the datasets).
  const markerPlugin = {
    id: "changeMarkers",
    afterDatasetsDraw: function (chart) {
      const x = chart.scales.x;
      const area = chart.chartArea;
      const ctx = chart.ctx;
      markers.forEach(function (m) {
        const px = x.getPixelForValue(m.index);
        if (px < area.left || px > area.right) { return; }
        ctx.save();
        ctx.strokeStyle = markerColour(m);
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        ctx.restore();
      });
    },
  };

  function lineChart(id, unit) {
    return new Chart(document.getElementById(id), {
      type: "line",
      data: { labels: [], datasets: [] },
      plugins: [markerPlugin],
      options: { animation: false, responsive: true, maintainAspectRatio: false, spanGaps: false,
                 interaction: { mode: "index", intersect: false },
                 scales: { x: { ticks: { maxTicksLimit: 6, callback: function (v) { return this.getLabelForValue(v).slice(11, 11 + tickLength); } } },
                           y: { beginAtZero: true, title: { display: true, text: unit } } },
                 elements: { point: { radius: 0 } } },
    });
  }
  const charts = { rps: lineChart("rps-chart", "req/s"), errors: lineChart("errors-chart", "%"),
                   latency: lineChart("latency-chart", "ms"), share: lineChart("share-chart", "%") };

  function line(label, data, colour, dashed) {
    return { label: label, data: data, borderColor: colour, backgroundColor: colour, borderWidth: 2,
             borderDash: dashed ? [6, 4] : [], tension: 0.2 };
  }

  function draw(body) {
    markers = body.markers;
    tickLength = body.range === "5m" ? 8 : 5;
    const s = body.series;
    const sets = {
      rps: [line("monolith", s.monolith.rps, colours.monolith), line("service", s.service.rps, colours.service)],
      errors: [line("monolith", s.monolith.error_rate, colours.monolith),
               line("service", s.service.error_rate, colours.service)],
      latency: [line("monolith p50", s.monolith.p50_ms, colours.monolith, true),
                line("monolith p99", s.monolith.p99_ms, colours.monolith),
                line("service p50", s.service.p50_ms, colours.service, true),
                line("service p99", s.service.p99_ms, colours.service)],
      share: [line("observed", body.observed, colours.service), line("target", body.target, colours.target, true)],
    };
    Object.keys(charts).forEach(function (name) {
      charts[name].data.labels = body.labels;
      charts[name].data.datasets = sets[name];
      charts[name].update("none");
    });
    const list = document.getElementById("history-markers");
    list.replaceChildren.apply(list, markers.map(function (m) {
      const li = document.createElement("li");
      li.textContent = m.at + " · " + m.action +
        (m.target !== null ? " → " + m.target + "%" : "") + " · " + m.actor + (m.reason ? " · " + m.reason : "");
      li.style.borderLeftColor = markerColour(m);
      return li;
    }));
  }

  async function refresh() {
    if (document.hidden) { return; }
    const form = new FormData(controls);
    const url = controls.dataset.source + "?domain=" + encodeURIComponent(form.get("domain")) +
      "&range=" + encodeURIComponent(form.get("range"));
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) { throw new Error(body.error || response.statusText); }
      draw(body);
      const total = body.series.monolith.rps.concat(body.series.service.rps).reduce(function (a, b) { return a + b; }, 0);
      status.textContent = "History of " + body.domain + " over " + body.range + " (" + body.step + " s per point)" +
        (total ? "." : ": no traffic in this range.");
    } catch (err) {
      status.textContent = "History unavailable: " + err.message;
    }
  }
  controls.addEventListener("change", refresh);
  document.addEventListener("visibilitychange", refresh);
  refresh();
  setInterval(refresh, 10000);
})();
