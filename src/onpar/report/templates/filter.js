(function () {
  var box = document.getElementById("prompt-filter");
  var pick = document.getElementById("outcome-filter");
  if (!box || !pick) return; // a run without side-by-side prompts has no prompt table
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
