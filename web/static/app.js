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

  // a file over the upload limit is refused beside its field before it is sent
  // (input[data-max-bytes][data-too-large]; the server says the same with 413 if it is sent)
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) return;
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var big = Array.prototype.some.call(input.files || [], function (f) { return f.size > max; });
    var msg = big ? input.getAttribute("data-too-large") : "";
    input.setCustomValidity(msg);
    var box = document.getElementById(input.getAttribute("aria-describedby") || "");
    if (box) { box.textContent = msg; box.hidden = !big; }
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
  // lists sort by any column: a click on its heading (again: the other way round)
  function cellValue(tr, i) {
    var td = tr.children[i];
    var t = td ? td.textContent.trim() : "";
    var n = t.replace(/[,\s%]/g, "");
    return n !== "" && !isNaN(n) ? parseFloat(n) : t;
  }
  function sortBy(th) {
    var table = th.closest("table"), tbody = table.tBodies[0];
    if (!tbody) return;
    var i = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    th.parentNode.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(tbody.rows).filter(function (r) { return r.cells.length > 1; });
    rows.sort(function (a, b) {
      var x = cellValue(a, i), y = cellValue(b, i);
      var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), document.documentElement.lang);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function makeSortable(root) {
    (root || document).querySelectorAll("main table thead th").forEach(function (th) {
      if (th.hasAttribute("data-sortable") || th.closest("table").hasAttribute("data-nosort")) return;
      var rows = th.closest("table").tBodies[0];
      if (!rows || rows.rows.length < 2) return;
      th.setAttribute("data-sortable", "");
      th.tabIndex = 0;
      th.classList.add("sortable");
    });
  }
  document.addEventListener("click", function (evt) {
    var th = evt.target.closest && evt.target.closest("th.sortable");
    if (th) sortBy(th);
  });
  document.addEventListener("keydown", function (evt) {
    if ((evt.key === "Enter" || evt.key === " ") && evt.target.matches && evt.target.matches("th.sortable")) {
      evt.preventDefault(); sortBy(evt.target);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { labelCells(document); makeSortable(document); });
  document.addEventListener("htmx:afterSettle", function () { makeSortable(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { labelCells(document); });

  // a form that asks before it posts (deleting): data-confirm holds the question
  document.addEventListener("submit", function (evt) {
    var q = evt.target.getAttribute && evt.target.getAttribute("data-confirm");
    if (q && !window.confirm(q)) evt.preventDefault();
  }, true);

  // the log form's firm chips: pick from the search-as-you-type list, remove with ×
  function firmsChanged() {
    document.body.dispatchEvent(new CustomEvent("crm:firms-changed"));
  }
  document.addEventListener("click", function (evt) {
    var opt = evt.target.closest && evt.target.closest("#firm-options .option");
    if (opt) {
      var chips = document.getElementById("firm-chips");
      var id = opt.getAttribute("data-firm-id");
      if (chips && !chips.querySelector('[data-firm-id="' + id + '"]')) {
        var chip = document.createElement("span");
        chip.className = "chip";
        chip.setAttribute("data-firm-id", id);
        chip.appendChild(document.createTextNode(opt.getAttribute("data-firm-name")));
        var input = document.createElement("input");
        input.type = "hidden"; input.name = "firm_ids"; input.value = id;
        chip.appendChild(input);
        var x = document.createElement("button");
        x.type = "button"; x.className = "chip-x"; x.textContent = "×";
        x.setAttribute("aria-label", "× " + opt.getAttribute("data-firm-name"));
        chip.appendChild(x);
        chips.appendChild(chip);
      }
      var q = document.getElementById("firm-q");
      if (q) { q.value = ""; q.focus(); }
      document.getElementById("firm-options").innerHTML = "";
      firmsChanged();
      return;
    }
    var rm = evt.target.closest && evt.target.closest("#firm-chips .chip-x");
    if (rm) {
      rm.closest(".chip").remove();
      firmsChanged();
    }
  });
  // Enter in the firm search picks the first suggestion instead of posting the form
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Enter" || !evt.target || evt.target.id !== "firm-q") return;
    evt.preventDefault();
    var first = document.querySelector("#firm-options .option");
    if (first) first.click();
  });

  // the project form: the chain-link picker lists the chosen cluster's links only
  function filterLinks() {
    var cluster = document.getElementById("f-cluster");
    var links = document.getElementById("f-chain_link");
    if (!cluster || !links) return;
    Array.prototype.forEach.call(links.options, function (o) {
      var other = o.value && cluster.value && o.getAttribute("data-cluster") !== cluster.value;
      o.hidden = !!other; o.disabled = !!other;
      if (other && o.selected) links.value = "";
    });
  }
  document.addEventListener("change", function (evt) {
    if (evt.target && evt.target.id === "f-cluster") filterLinks();
  });
  document.addEventListener("DOMContentLoaded", filterLinks);

  window.crm = window.crm || {};
  window.crm.csrfToken = csrfToken;
  window.crm.toast = toast;
})();

// the header's search: ArrowDown moves from the box into the results, arrows walk them,
// Escape closes them and returns to the box
(function () {
  "use strict";
  var box = document.getElementById("global-q");
  var drop = document.getElementById("global-results");
  if (!box || !drop) return;
  function links() { return Array.prototype.slice.call(drop.querySelectorAll("a")); }
  box.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") {
      var l = links();
      if (l.length) { e.preventDefault(); l[0].focus(); }
    } else if (e.key === "Escape") {
      drop.innerHTML = "";
    }
  });
  drop.addEventListener("keydown", function (e) {
    var l = links(), i = l.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && i >= 0 && i < l.length - 1) { e.preventDefault(); l[i + 1].focus(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? l[i - 1] : box).focus(); }
    else if (e.key === "Escape") { drop.innerHTML = ""; box.focus(); }
  });
})();

// the log form's colleagues: chips picked from the page's own list as you type (no URL, no
// Ctrl-click in a multi-select); Enter picks the first match, × removes a chip
(function () {
  "use strict";
  var MAX = 8;
  function els() {
    return {
      q: document.getElementById("officer-q"),
      chips: document.getElementById("officer-chips"),
      opts: document.getElementById("officer-options"),
      all: document.getElementById("officer-all")
    };
  }
  function show() {
    var e = els();
    if (!e.q || !e.opts || !e.all) return;
    var needle = e.q.value.trim().toLowerCase();
    e.opts.innerHTML = "";
    var n = 0;
    Array.prototype.forEach.call(e.all.content.children, function (b) {
      if (n >= MAX) return;
      var id = b.getAttribute("data-user-id");
      if (e.chips.querySelector('[data-user-id="' + id + '"]')) return;
      if (needle && b.getAttribute("data-user-name").toLowerCase().indexOf(needle) < 0) return;
      e.opts.appendChild(b.cloneNode(true));
      n++;
    });
  }
  function pick(opt) {
    var e = els();
    var id = opt.getAttribute("data-user-id"), name = opt.getAttribute("data-user-name");
    if (!e.chips.querySelector('[data-user-id="' + id + '"]')) {
      var chip = document.createElement("span");
      chip.className = "chip";
      chip.setAttribute("data-user-id", id);
      chip.appendChild(document.createTextNode(name));
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "officer_ids"; input.value = id;
      chip.appendChild(input);
      var x = document.createElement("button");
      x.type = "button"; x.className = "chip-x"; x.textContent = "×";
      x.setAttribute("aria-label", "× " + name);
      chip.appendChild(x);
      e.chips.appendChild(chip);
    }
    e.q.value = "";
    e.opts.innerHTML = "";
    e.q.focus();
  }
  document.addEventListener("input", function (evt) {
    if (evt.target && evt.target.id === "officer-q") show();
  });
  document.addEventListener("focusin", function (evt) {
    if (evt.target && evt.target.id === "officer-q") show();
  });
  document.addEventListener("click", function (evt) {
    var opt = evt.target.closest && evt.target.closest("#officer-options .option");
    if (opt) { pick(opt); return; }
    var rm = evt.target.closest && evt.target.closest("#officer-chips .chip-x");
    if (rm) rm.closest(".chip").remove();
  });
  document.addEventListener("keydown", function (evt) {
    if (!evt.target || evt.target.id !== "officer-q") return;
    if (evt.key === "Enter") {
      evt.preventDefault();
      var first = document.querySelector("#officer-options .option");
      if (first) pick(first);
    } else if (evt.key === "ArrowDown") {
      var o = document.querySelector("#officer-options .option");
      if (o) { evt.preventDefault(); o.focus(); }
    } else if (evt.key === "Escape") {
      els().opts.innerHTML = "";
    }
  });

  // a list's bulk bar (form#bulk-reassign): rows' checkboxes name it; "select all" ticks the
  // page's rows; the bar counts the selection and is idle while nothing is chosen
  function bulkCount() {
    var bar = document.getElementById("bulk-reassign");
    if (!bar) return;
    var boxes = document.querySelectorAll('input[name="ids"][form="bulk-reassign"]');
    var n = 0;
    boxes.forEach(function (b) { if (b.checked) n += 1; });
    var out = bar.querySelector("[data-bulk-count]");
    if (out) out.textContent = out.getAttribute("data-template").replace("#", String(n));
    bar.classList.toggle("idle", n === 0);
    var all = document.querySelector("input[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    }
  }
  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (!t || t.form === undefined) return;
    if (t.hasAttribute && t.hasAttribute("data-select-all")) {
      document.querySelectorAll('input[name="ids"][form="bulk-reassign"]').forEach(function (b) {
        b.checked = t.checked;
      });
    }
    if (t.getAttribute && t.getAttribute("form") === "bulk-reassign") bulkCount();
  });
  document.addEventListener("submit", function (evt) {
    var bar = evt.target;
    if (!bar || bar.id !== "bulk-reassign") return;
    var back = bar.querySelector('input[name="back"]');
    if (back) back.value = location.pathname + location.search;
  }, true);
  document.addEventListener("htmx:configRequest", function (evt) {
    if (evt.detail.elt && evt.detail.elt.id === "bulk-reassign") {
      evt.detail.parameters.back = location.pathname + location.search;
      // the rows' checkboxes sit outside the form (form="bulk-reassign"): send the ticked ones
      var ids = [];
      document.querySelectorAll('input[name="ids"][form="bulk-reassign"]:checked').forEach(
        function (b) { ids.push(b.value); });
      evt.detail.parameters.ids = ids;
    }
  });
  document.addEventListener("htmx:afterSettle", bulkCount);
  document.addEventListener("DOMContentLoaded", bulkCount);
})();
