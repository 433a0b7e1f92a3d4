// patchtrack: conveniences only; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" in patch and series lists.
  for (const all of document.querySelectorAll("input.select-all")) {
    all.addEventListener("change", () => {
      const table = all.closest("table");
      for (const box of table.querySelectorAll("input[name=patch_id], input[name=series_id]")) box.checked = all.checked;
    });
  }
  // A confirmation before destructive actions (forms or buttons).
  for (const el of document.querySelectorAll("[data-confirm]")) {
    const event = el.tagName === "FORM" ? "submit" : "click";
    el.addEventListener(event, (e) => {
      if (!window.confirm(el.dataset.confirm)) e.preventDefault();
    });
  }
});
