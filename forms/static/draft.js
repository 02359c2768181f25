// The task form's draft, saved on the server as it is typed (PUT /tasks/{id}/draft, JSON {data: {...}}).
// htmx sends it with the frame's CSRF header (hx-headers on <body>); this extension only encodes the
// fields as JSON (a field posted more than once becomes a list) and says when the draft was kept.
(function () {
  "use strict";
  htmx.defineExtension("bokji-draft", {
    onEvent: function (name, evt) {
      if (name === "htmx:configRequest") {
        evt.detail.headers["Content-Type"] = "application/json";
      }
      if (name === "htmx:afterRequest") {
        var status = document.getElementById("draft-status");
        if (status) {
          var ok = evt.detail.successful;
          status.textContent = ok ? status.dataset.saved || "" : status.dataset.failed || "";
          status.dataset.state = ok ? "saved" : "failed";
        }
      }
    },
    encodeParameters: function (xhr, parameters) {
      xhr.overrideMimeType("text/json");
      var data = {};
      parameters.forEach(function (value, key) {
        if (key === "csrf_token") { return; }
        if (Object.prototype.hasOwnProperty.call(data, key)) {
          data[key] = [].concat(data[key], value);
        } else {
          data[key] = value;
        }
      });
      return JSON.stringify({ data: data });
    }
  });
})();
