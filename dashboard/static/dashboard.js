// Draws the widgets' Vega-Lite charts (specs built server-side in charts.py) and makes the
// selectors submit on change; without it the selectors still work as plain GET forms (Apply).
(function () {
  "use strict";
  performance.mark("dashboard-js-start"); // the chart library is parsed and run by now
  const form = document.getElementById("filters");
  const range = document.getElementById("range");
  const custom = document.getElementById("custom-range");

  function showCustom() {
    const on = range.value === "custom";
    custom.hidden = !on;
    for (const input of custom.querySelectorAll("input")) input.disabled = !on;
  }
  range.addEventListener("change", showCustom);
  showCustom();

  // Standard ranges, organization and country apply at once; a custom range waits for "Apply".
  for (const select of document.querySelectorAll("[data-autosubmit]")) {
    select.addEventListener("change", function () {
      if (select === range && range.value === "custom") return;
      // another organization has other QRP countries: start again from all of them
      const country = document.getElementById("country");
      if (select.id === "org" && country) country.value = "ALL";
      form.requestSubmit();
    });
  }

  const specs = JSON.parse(document.getElementById("chart-specs").textContent);
  const drawn = Object.entries(specs).map(function ([id, spec]) {
    return vegaEmbed("#" + id, spec, { actions: false, renderer: "svg" });
  });
  Promise.allSettled(drawn).then(function (results) {
    const failed = results.filter(function (r) { return r.status === "rejected"; });
    for (const f of failed) console.error("chart failed", f.reason);
    // when the page is complete, charts included (read by the load-time measurement)
    document.body.dataset.chartsMs = String(Math.round(performance.now()));
    document.body.dataset.charts = failed.length ? "failed" : "ready";
  });
})();
