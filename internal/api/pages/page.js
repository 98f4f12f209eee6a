(function () {
  "use strict";
  var body = document.body, form = document.getElementById("form"), status = document.getElementById("status");
  // The token travels in the fragment, which browsers never send to a server;
  // ?token= from older mails works too. Either way it leaves the address bar.
  var params = new URLSearchParams(location.hash.slice(1) || location.search.slice(1));
  var token = params.get("token") || "";
  history.replaceState(null, "", location.pathname);
  function say(text, ok) { status.textContent = text; status.className = ok ? "ok" : "error"; }
  if (!token) { form.hidden = true; say("This link has no token. Open the link from the mail again, or ask for a new one.", false); return; }
  function post(path, payload, bearer) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json, application/problem+json" };
    if (bearer) { headers.Authorization = "Bearer " + bearer; }
    return fetch(path, { method: "POST", headers: headers, body: JSON.stringify(payload), credentials: "same-origin" });
  }
  function problem(res) {
    return res.json().then(function (p) {
      var fields = (p.errors || []).map(function (e) { return e.message; }).join(" ");
      return (p.detail || p.title || ("Error " + res.status)) + (fields ? " " + fields : "");
    }, function () { return "Error " + res.status + "."; });
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var payload = { token: token };
    if (body.dataset.action === "reset") { payload.new_password = document.getElementById("password").value; }
    say("Working…", true);
    var endpoint = body.dataset.endpoint;
    post(endpoint, payload).then(function (res) {
      // Confirming a new address needs the signed-in account: use this
      // browser's session (the refresh cookie) when there is one.
      if (res.status !== 401 || body.dataset.action !== "confirm-email") { return res; }
      return post("/api/v1/auth/refresh", {}).then(function (r) {
        if (!r.ok) { return res; }
        return r.json().then(function (t) { return post(endpoint, payload, t.access_token); });
      });
    }).then(function (res) {
      if (res.ok) { form.hidden = true; say(body.dataset.done, true); return; }
      return problem(res).then(function (msg) { say(msg, false); });
    }, function () { say("The server could not be reached. Try again.", false); });
  });
})();
