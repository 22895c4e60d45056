// Progressive enhancement for Roundtable's pages; every page works without it.
// - A "Preview" button beside each text area marked `data-preview` shows the text as the node
//   will render it (the node renders and sanitizes it: POST /preview with the form's CSRF token).
// - The header's "Notifications" link shows the unread count (GET /notifications/unread) on
//   pages that do not render it themselves (those carry a `data-count` element already).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("textarea[data-preview]").forEach(function (area) {
    var form = area.form;
    if (!form) return;
    var csrf = form.querySelector("input[name=csrf]");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "quiet";
    button.textContent = "Preview";
    var out = document.createElement("div");
    out.className = "preview";
    out.hidden = true;
    out.setAttribute("aria-live", "polite");
    out.id = area.id + "-preview";
    button.setAttribute("aria-controls", out.id);
    button.addEventListener("click", function () {
      var body = new URLSearchParams();
      body.set("csrf", csrf ? csrf.value : "");
      body.set("text", area.value);
      fetch("/preview", { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          out.innerHTML = html || "<p class=\"muted\">Nothing to preview yet.</p>";
          out.hidden = false;
        })
        .catch(function () {
          out.textContent = "The preview could not be made; the text will still be sent as written.";
          out.hidden = false;
        });
    });
    area.insertAdjacentElement("afterend", out);
    area.insertAdjacentElement("afterend", button);
  });
  var notes = document.querySelector("a[data-unread]");
  if (notes && !notes.querySelector("[data-count]")) {
    fetch("/notifications/unread", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        if (!body || !(body.count > 0)) return;
        var count = document.createElement("span");
        count.className = "count";
        count.setAttribute("data-count", "");
        count.textContent = " (" + body.count + ")";
        notes.appendChild(count);
      })
      .catch(function () {});
  }
});
