// Report charts: each .chart element names a JSON data island (an ECharts option, plain data).
// No inline scripts (CSP script-src 'self'); the JSON is never evaluated, only parsed.
(function () {
  "use strict";
  function draw(el) {
    var island = document.getElementById(el.getAttribute("data-chart"));
    if (!island || typeof echarts === "undefined") return;
    var option;
    try { option = JSON.parse(island.textContent); } catch (e) { return; }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function drawAll(root) {
    var els = (root || document).querySelectorAll(".chart[data-chart]");
    for (var i = 0; i < els.length; i++) draw(els[i]);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  } else { drawAll(); }
  document.addEventListener("htmx:afterSwap", function (evt) { drawAll(evt.target); });
})();
