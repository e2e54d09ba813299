// Keyboard work on list pages with a [data-queue] table: j/k move, Enter opens, x selects,
// a jumps to the "assign selected" control. Rows keep plain links, so the page works without it.
(function () {
  function rows() { return Array.from(document.querySelectorAll("[data-queue] tbody tr[data-href]")); }
  let current = -1;
  function focusRow(index) {
    const list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((row, i) => row.classList.toggle("selected", i === current));
    list[current].focus();
  }
  document.addEventListener("keydown", function (event) {
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea"].includes(tag) || event.metaKey || event.ctrlKey || event.altKey) return;
    const list = rows();
    if (event.key === "j") { focusRow(current + 1); event.preventDefault(); }
    else if (event.key === "k") { focusRow(current - 1); event.preventDefault(); }
    else if (event.key === "Enter" && list[current]) { window.location = list[current].dataset.href; }
    else if (event.key === "x" && list[current]) {
      const box = list[current].querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (event.key === "a") {
      const picker = document.getElementById("bulk-assignee");
      if (picker) {
        if (list[current] && !list.some((row) => row.querySelector("input:checked"))) {
          list[current].querySelector("input[type=checkbox]").checked = true;
        }
        picker.focus(); event.preventDefault();
      }
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      rows().forEach((row) => { row.querySelector("input[type=checkbox]").checked = event.target.checked; });
    }
  });
  document.body.addEventListener("htmx:afterSwap", function () { current = -1; });
})();
