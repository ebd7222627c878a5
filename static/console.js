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

// Kafka live tail: poll the newest messages and add only rows not shown yet, on top; rows already
// on the page (and whether they are open) are never touched. Unticking the box pauses.
(function () {
  "use strict";
  const box = document.getElementById("live-tail");
  if (!box) { return; }
  const status = document.getElementById("tail-status");
  let timer = null;

  async function poll() {
    try {
      const response = await fetch(box.dataset.source, { headers: { "HX-Request": "true" } });
      if (!response.ok) { throw new Error(response.statusText); }
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      let list = document.getElementById("msg-list");
      const incoming = doc.getElementById("msg-list");
      if (!incoming) { status.textContent = "live — no messages yet"; return; }
      if (!list) {
        document.getElementById("messages").replaceChildren(...doc.body.childNodes);
        status.textContent = "live";
        return;
      }
      const fresh = Array.from(incoming.children).filter(function (li) { return !document.getElementById(li.id); });
      fresh.reverse().forEach(function (li) { list.prepend(document.adoptNode(li)); });
      const limit = parseInt(list.dataset.limit, 10) || 50;
      Array.from(list.children).slice(limit).forEach(function (li) {
        if (!li.querySelector("details[open]")) { li.remove(); }
      });
      const line = document.getElementById("selection-line");
      if (line) { line.textContent = line.textContent.replace(/\d+ shown/, list.children.length + " shown"); }
      status.textContent = "live — " + fresh.length + " new at " + new Date().toLocaleTimeString();
    } catch (err) {
      status.textContent = "live tail failed: " + err.message + " (retrying)";
    }
  }

  box.addEventListener("change", function () {
    if (box.checked) {
      poll();
      timer = setInterval(poll, 2000);
    } else {
      clearInterval(timer);
      status.textContent = "paused";
    }
  });
})();
