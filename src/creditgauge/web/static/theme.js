// Dark or light: the user's choice (kept in localStorage) wins over the system's. Loaded in <head> so the page
// is drawn in the right colours from the start.
(function () {
  "use strict";
  var stored = null;
  try { stored = window.localStorage.getItem("creditgauge-theme"); } catch (e) { /* private mode */ }
  if (stored === "dark" || stored === "light") {
    document.documentElement.setAttribute("data-theme", stored);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var current = document.documentElement.getAttribute("data-theme") ||
        (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
      var next = current === "dark" ? "light" : "dark";
      document.documentElement.setAttribute("data-theme", next);
      try { window.localStorage.setItem("creditgauge-theme", next); } catch (e) { /* private mode */ }
      document.dispatchEvent(new CustomEvent("creditgauge:theme", { detail: next }));
    });
  });
})();
