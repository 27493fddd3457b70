// Tvarit's service worker: shows task notifications and lets "Acknowledge" work in one tap.
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

// A push from FCM: its webpush block carries the title, body, link and actions.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var n = data.notification || data.webpush && data.webpush.notification || data;
  var link = (data.fcmOptions && data.fcmOptions.link) ||
    (data.webpush && data.webpush.fcm_options && data.webpush.fcm_options.link) ||
    (data.data && data.data.page_url) || n.link || "/t";
  event.waitUntil(self.registration.showNotification(n.title || "Tvarit", {
    body: n.body || "",
    tag: n.tag || link,
    lang: n.lang || "",
    data: { link: link },
    actions: n.actions || []
  }));
});

function taskPath(link) {
  try { return new URL(link, self.location.origin).pathname; } catch (e) { return "/t"; }
}

self.addEventListener("notificationclick", function (event) {
  var link = (event.notification.data && event.notification.data.link) || "/t";
  event.notification.close();
  if (event.action === "ack") {
    // One tap: acknowledge with the page's own endpoint and session cookie; on failure
    // (signed out, offline) open the page instead, where the warrior can do it by hand.
    event.waitUntil(
      fetch(taskPath(link) + "/ack", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-Requested-With": "tvarit-sw", "Content-Type": "application/x-www-form-urlencoded" },
        body: ""
      }).then(function (res) {
        if (!res.ok) return self.clients.openWindow(link);
      }, function () { return self.clients.openWindow(link); })
    );
    return;
  }
  event.waitUntil(self.clients.openWindow(link));
});
