// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();  // as GOV.UK does: the problem is read out first

  var box = document.getElementById("notify");
  var button = document.getElementById("notify-button");
  if (!box || !button || !button.dataset.key) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) return;
  box.hidden = false;
  var status = document.getElementById("notify-status");

  function key(b64) {
    var s = (b64 + "===".slice((b64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(s), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  button.addEventListener("click", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (reg) {
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(button.dataset.key) });
      })
      .then(function (sub) {
        // FCM's web push endpoints end in the registration token SNS's FCM application takes.
        var token = sub.endpoint.split("/").pop();
        var body = new URLSearchParams({ csrf: button.dataset.csrf, token: token });
        return fetch("/web/devices", { method: "POST", body: body, credentials: "same-origin" });
      })
      .then(function (res) {
        if (!res.ok) throw new Error(String(res.status));
        status.textContent = button.dataset.on;
        button.hidden = true;
      })
      .catch(function () { status.textContent = button.dataset.failed; });
  });
})();
