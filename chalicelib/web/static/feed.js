// The live feed refreshes itself: every 15 s it asks for the feed's items (same origin, the
// session cookie) and puts them in place. Without this file the page has a "refresh" link.
(function () {
  "use strict";
  var box = document.getElementById("feed-items");
  if (!box || !window.fetch) { return; }
  var source = box.getAttribute("data-src");
  var status = document.getElementById("feed-status");
  function refresh() {
    if (document.hidden) { return; }
    fetch(source, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        box.innerHTML = html;
        if (status) { status.textContent = status.getAttribute("data-live"); }
      })
      .catch(function () {});
  }
  setInterval(refresh, 15000);
  document.addEventListener("visibilitychange", refresh);
})();
