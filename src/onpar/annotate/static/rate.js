// Keys 1-7 (or 1-5) answer, "s" skips; the rating is posted and the next item opens at once.
// Without JavaScript the buttons submit the same form.
(function () {
  "use strict";
  var form = document.getElementById("rate-form");
  if (!form) return;
  var status = document.getElementById("status");
  var busy = false;

  function send(extra) {
    if (busy) return;
    busy = true;
    form.classList.add("sending");
    status.textContent = "Saving…";
    var body = new URLSearchParams(new FormData(form));
    Object.keys(extra).forEach(function (key) { body.set(key, extra[key]); });
    fetch(form.getAttribute("action"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.error || response.statusText);
        window.location.assign(data.next);
      });
    }).catch(function (error) {
      status.textContent = "Not saved: " + error.message;
      form.classList.remove("sending");
      busy = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = event.submitter;
    var extra = {};
    if (button && button.name) extra[button.name] = button.value;
    send(extra);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    var target = event.target;
    if (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "checkbox")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    var max = Number(form.dataset.max);
    if (/^[1-9]$/.test(event.key) && Number(event.key) <= max) {
      event.preventDefault();
      send({ score: event.key });
    } else if (event.key === "s" && form.dataset.canSkip === "1") {
      event.preventDefault();
      send({ skip: "1" });
    }
  });
})();
