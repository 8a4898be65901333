// Keyboard review: on the queue j/k move and Enter opens; on a case a approves, r rejects (the
// reason list takes focus), c corrects the plate, n or j opens the next case, k the previous.
// Keys are ignored while typing in a field. No build step: this file is served as it is.
(function () {
  "use strict";
  var page = document.body.dataset.page;
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA");
  }
  if (page === "queue") {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr"));
    var at = -1;
    function select(i) {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r, k) { r.classList.toggle("selected", k === at); });
      rows[at].scrollIntoView({ block: "nearest" });
    }
    document.addEventListener("keydown", function (e) {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "j" || e.key === "n") { select(at + 1); e.preventDefault(); }
      else if (e.key === "k") { select(at - 1); e.preventDefault(); }
      else if (e.key === "Enter" && at >= 0) { window.location = rows[at].dataset.href; }
    });
    rows.forEach(function (r) {
      r.addEventListener("click", function (e) { if (e.target.tagName !== "A" && e.target.tagName !== "IMG") window.location = r.dataset.href; });
    });
    if (rows.length) select(0);
  }
  if (page === "case") {
    var approve = document.getElementById("approve-form");
    var plate = document.getElementById("plate-input");
    var reason = document.getElementById("reason-select");
    var reject = document.getElementById("reject-form");
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && typing(e)) { e.target.blur(); return; }
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) {
        if (e.key === "Enter" && e.target === reason && reject) { reject.requestSubmit(); e.preventDefault(); }
        return;
      }
      var link;
      if (e.key === "a" && approve) { approve.requestSubmit(); e.preventDefault(); }
      else if (e.key === "r" && reason) { reason.focus(); reject.classList.add("active"); e.preventDefault(); }
      else if (e.key === "c" && plate) { plate.focus(); plate.select(); e.preventDefault(); }
      else if ((e.key === "n" || e.key === "j") && (link = document.getElementById("next-case"))) { window.location = link.href; }
      else if (e.key === "k" && (link = document.getElementById("prev-case"))) { window.location = link.href; }
    });
  }
})();
