// Keyboard work on list pages with a [data-queue] table: j/k move, Enter opens, x selects,
// a jumps to the "assign selected" control. Rows keep plain links, so the page works without it.
// The selected row is read from the page each time (class "selected"), so an htmx swap of the
// rows simply starts over and other swaps on the page (the inbox badge) do not disturb it.
(function () {
  function rows() { return Array.from(document.querySelectorAll("[data-queue] tbody tr[data-href]")); }
  function selectedIndex(list) { return list.findIndex((row) => row.classList.contains("selected")); }
  function focusRow(list, index) {
    if (!list.length) return;
    const target = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((row, i) => row.classList.toggle("selected", i === target));
    list[target].focus();
  }
  document.addEventListener("keydown", function (event) {
    const tag = (event.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea"].includes(tag) || event.metaKey || event.ctrlKey || event.altKey) return;
    const list = rows();
    const current = selectedIndex(list);
    if (event.key === "j") { focusRow(list, current + 1); event.preventDefault(); }
    else if (event.key === "k") { focusRow(list, current - 1); event.preventDefault(); }
    else if (event.key === "Enter" && current >= 0) { window.location = list[current].dataset.href; }
    else if (event.key === "x" && current >= 0) {
      const box = list[current].querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (event.key === "a") {
      const picker = document.getElementById("bulk-assignee");
      if (picker) {
        if (current >= 0 && !list.some((row) => row.querySelector("input:checked"))) {
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
})();
