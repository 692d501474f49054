/* hepbench leaderboard: sortable tables, no dependencies.
 *
 * Each header cell of a `table.sortable` with `data-sort="number"` or `"text"` gets a button
 * (reachable with Tab, pressed with Enter or Space). Pressing it sorts the rows by that column,
 * first in the header's `data-first` order ("descending" for metrics where higher is better),
 * then the other way; the sorted header carries `aria-sort`. Cells sort by their `data-value`
 * when they have one (the unrounded metric), else by their text; empty values go last.
 */
(function () {
  "use strict";

  function key(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) return null;
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    if (raw === "") return null;
    if (!numeric) return raw.toLocaleLowerCase();
    var value = parseFloat(raw);
    return isFinite(value) ? value : null;
  }

  function sortBy(table, header, direction) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.indexOf(header);
    var numeric = header.getAttribute("data-sort") === "number";
    var sign = direction === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (row, position) {
      return { row: row, key: key(row, index, numeric), position: position };
    });
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) return a.position - b.position;
        return a.key === null ? 1 : -1; // missing values last, whichever the direction
      }
      if (a.key < b.key) return -sign;
      if (a.key > b.key) return sign;
      return a.position - b.position; // stable: equal values keep their order
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    headers.forEach(function (h) {
      if (h === header) h.setAttribute("aria-sort", direction);
      else h.removeAttribute("aria-sort");
    });
  }

  function enhance(table) {
    if (!table.tHead || !table.tBodies.length) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
      if (!header.hasAttribute("data-sort")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (header.firstChild) button.appendChild(header.firstChild);
      header.appendChild(button);
      button.addEventListener("click", function () {
        var now = header.getAttribute("aria-sort");
        var first = header.getAttribute("data-first") || "ascending";
        var next = now === "ascending" ? "descending" : now === "descending" ? "ascending" : first;
        sortBy(table, header, next);
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), enhance);
})();
