// The pipeline board: drag a card to another column to move the project's stage.
// A move to "lost" comes back as the reason form, shown in the dialog; cancelling it (or any
// refused move) puts the card back where it was. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  var pending = null; // the last dragged card: {item, from, index}

  function revert() {
    if (!pending) return;
    var p = pending;
    pending = null;
    if (!p.item.isConnected) return;
    var ref = p.from.children[p.index] || null;
    p.from.insertBefore(p.item, ref);
  }

  function initList(list) {
    if (list.dataset.sortable) return;
    list.dataset.sortable = "1";
    window.Sortable.create(list, {
      group: "board",
      animation: 0, // animations leave style attributes that htmx's settle would copy (CSP)
      draggable: ".pcard[data-movable]", // only cards the user may move (web/pipeline.py)
      filter: "select, button, input, textarea",
      preventOnFilter: false,
      onEnd: function (evt) {
        // Sortable leaves (empty) style attributes behind; htmx copies attributes of a swapped
        // element with the same id, and applying them is an inline style the CSP refuses
        [evt.from, evt.to].forEach(function (list) {
          list.querySelectorAll("[style]").forEach(function (el) { el.removeAttribute("style"); });
        });
        if (evt.from === evt.to) return;
        var card = evt.item;
        pending = { item: card, from: evt.from, index: evt.oldIndex };
        window.htmx.ajax("POST", "/projects/" + card.dataset.id + "/stage", {
          source: card, target: card, swap: "outerHTML",
          values: { stage: evt.to.dataset.stage, version: card.dataset.version, via: "board" }
        });
      }
    });
  }

  function setCount(stage, delta) {
    var el = document.getElementById("count-" + stage);
    if (!el || el.dataset.capped === "1") return;
    var n = parseInt(el.textContent, 10);
    if (!isNaN(n)) el.textContent = String(Math.max(0, n + delta));
  }

  document.addEventListener("crm:moved", function (evt) {
    var d = evt.detail || {};
    pending = null;
    setCount(d.from, -1);
    setCount(d.to, +1);
    var dlg = document.getElementById("lost-dialog");
    if (dlg && dlg.open) dlg.close();
  });

  // a refused move (stale, not allowed): put the card back
  document.addEventListener("htmx:responseError", function () { revert(); });

  // the reason form arrived: open the dialog
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === "lost-dialog-body") {
      var dlg = document.getElementById("lost-dialog");
      if (dlg && !dlg.open) dlg.showModal();
      var ta = dlg && dlg.querySelector("textarea");
      if (ta) ta.focus();
    }
  });

  document.addEventListener("click", function (evt) {
    if (evt.target.closest(".js-lost-cancel")) {
      var dlg = document.getElementById("lost-dialog");
      if (dlg) dlg.close();
    }
  });

  function onLoad(root) {
    var dlg = document.getElementById("lost-dialog");
    if (dlg && !dlg.dataset.bound) {
      dlg.dataset.bound = "1";
      dlg.addEventListener("close", function () {
        revert();
        document.getElementById("lost-dialog-body").innerHTML = "";
      });
    }
    if (!window.Sortable) return;
    var lists = (root.querySelectorAll ? root : document).querySelectorAll(".board .cards");
    lists.forEach(initList);
    if (root.classList && root.classList.contains("cards")) initList(root);
  }

  document.addEventListener("DOMContentLoaded", function () {
    onLoad(document);
    window.htmx.onLoad(function (el) { onLoad(el); });
  });
})();
