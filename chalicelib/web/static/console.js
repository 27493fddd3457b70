// The console's progressive enhancement: every form works without this file.
// The query editor: as the head types, the server checks the query (the saving parser, the
// column of an error) and previews its matches; both come back as HTML fragments.
(function () {
  "use strict";
  var form = document.getElementById("query-form");
  var query = document.getElementById("query");
  if (!form || !query || !window.fetch || !window.URLSearchParams) return;
  var check = document.getElementById("query-check");
  var preview = document.getElementById("query-preview");
  var timer = 0, asked = 0;

  function post(path) {
    var body = new URLSearchParams(new FormData(form));
    body.delete("do");
    return fetch(path, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) { return r.ok ? r.text() : ""; });
  }

  function run() {
    var mine = ++asked;
    post("/console/queries/check").then(function (html) {
      if (mine !== asked || !html) return;
      check.innerHTML = html;
      var valid = check.querySelector("[data-valid=true]") !== null;
      query.setAttribute("aria-invalid", valid ? "false" : "true");
      if (!valid) { preview.innerHTML = ""; return; }
      return post("/console/queries/preview").then(function (more) {
        if (mine === asked && more) preview.innerHTML = more;
      });
    }).catch(function () { /* offline: the buttons still post the form */ });
  }

  function soon() { clearTimeout(timer); timer = setTimeout(run, 350); }
  ["input", "change"].forEach(function (type) { form.addEventListener(type, soon); });
})();

// The members import: a chosen CSV file is read into the text area the form posts, so the head
// sees what will be checked; the file input itself has no name and is never sent.
(function () {
  "use strict";
  var file = document.getElementById("csv-file");
  var csv = document.getElementById("csv");
  if (!file || !csv || !window.FileReader) return;
  document.getElementById("csv-file-group").hidden = false;
  file.addEventListener("change", function () {
    var chosen = file.files && file.files[0];
    if (!chosen) return;
    var reader = new FileReader();
    reader.onload = function () { csv.value = String(reader.result || ""); csv.focus(); };
    reader.readAsText(chosen, "utf-8");
  });
})();
