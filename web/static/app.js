// Behaviour for the pages. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  // every HTMX request carries the CSRF token in a header
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // toasts: from the server (HX-Trigger: {"crm:toast": {"message": ..., "kind": ...}}) or JS
  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var el = document.createElement("div");
    el.className = "toast timed " + (kind || "ok");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.textContent = message;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, kind === "error" ? 8000 : 4000);
  }
  document.body.addEventListener("crm:toast", function (evt) {
    var d = evt.detail || {};
    toast(d.message || d.value, d.kind);
  });

  // a failed HTMX request shows the server's message (the error page's alert) as a toast
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr, msg = "";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var alert = doc.querySelector('[role="alert"]');
      msg = alert ? alert.textContent.trim() : "";
    } catch (e) { msg = ""; }
    toast(msg || ("HTTP " + xhr.status), "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast(document.body.getAttribute("data-network-error") || "network error", "error");
  });

  // a 4xx answer marked X-CRM-Swap (a form shown again with its errors) is swapped like a 200
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("X-CRM-Swap")) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // toasts swapped in out of band by the server disappear after a few seconds
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("#toasts .toast:not(.timed)").forEach(function (el) {
      el.classList.add("timed");
      setTimeout(function () { el.remove(); }, el.classList.contains("error") ? 8000 : 4000);
    });
  });

  // the phone-width menu: one button opens and closes it
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest && evt.target.closest(".menu-toggle");
    if (!btn) return;
    var bar = document.getElementById("topbar");
    var open = !bar.classList.contains("open");
    bar.classList.toggle("open", open);
    btn.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // tables read as cards on a phone: each cell is labelled with its column's heading
  function labelCells(root) {
    (root || document).querySelectorAll("main table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      if (!heads.length) return;
      table.classList.add("cards");
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (td, i) {
          if (heads[i] && !td.hasAttribute("data-label")) td.setAttribute("data-label", heads[i]);
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { labelCells(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { labelCells(document); });

  window.crm = window.crm || {};
  window.crm.csrfToken = csrfToken;
  window.crm.toast = toast;
})();
