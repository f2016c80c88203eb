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
    // a point carrying a link (a park on the city map) opens it
    chart.on("click", function (params) {
      if (params && params.data && params.data.link) window.location.href = params.data.link;
    });
    window.addEventListener("resize", function () { chart.resize(); });
    var geo = option._geo;
    if (geo) {  // a map: its GeoJSON (vendored) is registered once, then the option is drawn
      delete option._geo;
      if (echarts.getMap && echarts.getMap(geo.name)) { chart.setOption(option); return; }
      fetch(geo.url, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (json) {
          echarts.registerMap(geo.name, json);
          chart.setOption(option);
          el.setAttribute("data-drawn", "1");
        });
      return;
    }
    chart.setOption(option);
    el.setAttribute("data-drawn", "1");
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
