// The personal link carries the key in its #fragment, which browsers never send to a server:
// copy it into the form, then drop it from the address bar and history.
(function () {
  "use strict";
  var match = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
  if (!match) return;
  document.getElementById("token").value = decodeURIComponent(match[1]);
  history.replaceState(null, "", window.location.pathname);
  document.getElementById("start").focus();
})();
