// Sortable tables (table[data-sortable]): a button in each header sorts the body by that column, numbers by the
// exact figure in the cell's data-sort, text by its words; aria-sort says the order to screen readers. The server's
// order (by name) is the first state, and the footer (totals) stays where it is.
(function () {
  "use strict";

  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }

  function compare(a, b, numeric) {
    if (a === "" && b === "") { return 0; }
    if (a === "") { return 1; }  // unknown figures last, whatever the direction
    if (b === "") { return -1; }
    return numeric ? Number(a) - Number(b) : a.localeCompare(b);
  }

  function sortBy(table, header, index) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (row) { return row.cells.length > 1; });
    if (rows.length < 2) { return; }
    var numeric = header.classList.contains("num");
    var current = header.getAttribute("aria-sort");  // first click: biggest figures first, names from A
    var descending = current === "ascending" || (current !== "descending" && numeric);
    rows.sort(function (x, y) {
      var a = cellKey(x, index), b = cellKey(y, index);
      if (a === "" || b === "") { return compare(a, b, numeric); }
      return descending ? compare(b, a, numeric) : compare(a, b, numeric);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("thead th").forEach(function (th) { th.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-sortable]").forEach(function (table) {
      table.querySelectorAll("thead th").forEach(function (header, index) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sort";
        button.textContent = header.textContent;
        button.setAttribute("data-testid", "sort-" + index);
        header.textContent = "";
        header.appendChild(button);
        header.setAttribute("aria-sort", "none");
        button.addEventListener("click", function () { sortBy(table, header, index); });
      });
    });
  });
})();
