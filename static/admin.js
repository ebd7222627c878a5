// Catalogue pages (Flask-Admin): its templates use javascript: links and inline onclick handlers,
// which the console's Content-Security-Policy refuses (clicking "Add Filter" did nothing but log
// a violation). Rewrite them into plain links whose default action is cancelled here.
(function () {
  "use strict";
  function defuse(root) {
    root.querySelectorAll('a[href^="javascript:"], [onclick]').forEach(function (el) {
      if (el.tagName === "A" && (el.getAttribute("href") || "").indexOf("javascript:") === 0) {
        el.setAttribute("href", "#");
        el.setAttribute("role", "button");
        el.dataset.noNavigate = "";
      }
      if (el.hasAttribute("onclick")) {
        el.removeAttribute("onclick");
        el.dataset.noNavigate = "";
      }
    });
  }
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("[data-no-navigate]");
    if (link) { event.preventDefault(); }
  });
  defuse(document);
})();
