(function () {
  var box = document.getElementById("prompt-filter");
  var pick = document.getElementById("outcome-filter");
  function apply() {
    var q = box.value.trim().toLowerCase(), o = pick.value;
    document.querySelectorAll("tbody.prompt").forEach(function (tb) {
      var okText = !q || tb.textContent.toLowerCase().indexOf(q) >= 0;
      tb.hidden = !(okText && (!o || tb.dataset.outcome === o));
    });
  }
  box.addEventListener("input", apply);
  pick.addEventListener("change", apply);
})();
