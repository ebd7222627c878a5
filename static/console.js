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

// Errors of any htmx action appear next to the control that sent it. htmx does not swap a 4xx/5xx
// answer, so without this a refused change would only reach the browser's console.
(function () {
  "use strict";

  function messageOf(xhr) {
    const type = xhr.getResponseHeader("Content-Type") || "";
    const body = xhr.responseText || "";
    if (type.indexOf("json") >= 0) {
      try { return JSON.parse(body).error || xhr.statusText; } catch (err) { return xhr.statusText; }
    }
    if (type.indexOf("html") >= 0) {
      const doc = new DOMParser().parseFromString(body, "text/html");
      const alert = doc.querySelector("[role=alert], .flash-error, main p");
      if (alert && alert.textContent.trim()) { return alert.textContent.trim(); }
    }
    return body.trim().slice(0, 300) || xhr.statusText || "request failed";
  }

  // The slot of a control: the form it belongs to (or the element itself) gets one alert line.
  function slotFor(elt) {
    const host = (elt.closest && elt.closest("form")) || elt;
    let slot = host.querySelector(":scope > [data-error-slot]");
    if (!slot) {
      slot = document.createElement("p");
      slot.className = "flash flash-error action-error";
      slot.setAttribute("role", "alert");
      slot.setAttribute("data-error-slot", "");
      slot.setAttribute("data-testid", "action-error");
      if (host.tagName === "FORM") { host.appendChild(slot); } else { host.insertAdjacentElement("afterend", slot); }
    }
    return slot;
  }

  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    slotFor(event.detail.elt).textContent = xhr.status + ": " + messageOf(xhr);
  });
  document.addEventListener("htmx:sendError", function (event) {
    slotFor(event.detail.elt).textContent = "The console did not answer; nothing was changed. Try again.";
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    const host = (event.detail.elt.closest && event.detail.elt.closest("form")) || event.detail.elt;
    const slot = host.querySelector && host.querySelector(":scope > [data-error-slot]");
    if (slot) { slot.remove(); }
  });

  // A confirmation keeps the focus: it takes it when it opens and Tab cycles inside it.
  function focusDialog(root) {
    const dialog = root.querySelector && root.querySelector("[data-focus-trap]");
    const first = dialog && dialog.querySelector("button, a[href], input:not([type=hidden])");
    if (first) { first.focus(); }
  }
  document.addEventListener("htmx:afterSettle", function (event) { focusDialog(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { focusDialog(document); });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") { return; }
    const dialog = document.activeElement && document.activeElement.closest("[data-focus-trap]");
    if (!dialog) { return; }
    const stops = Array.from(dialog.querySelectorAll("button, a[href], input:not([type=hidden])"));
    const index = stops.indexOf(document.activeElement);
    const next = event.shiftKey ? (index <= 0 ? stops.length - 1 : index - 1) : (index + 1) % stops.length;
    event.preventDefault();
    stops[next].focus();
  });
})();

// Strangler cards are drawn from one source: the server's flag and plan. The page polls their
// fingerprints every second (not while the tab is hidden) and redraws a card whose flag or plan
// changed anywhere — this page, the CLI, a plan step, a gateway's rollback. Text the operator has
// typed, open sections and the focus survive the redraw.
(function () {
  "use strict";
  const cards = document.querySelector("[data-state-source]");
  if (!cards || typeof htmx === "undefined") { return; }
  const source = cards.dataset.stateSource;
  const busy = new Set();

  function carry(from, to) {
    from.querySelectorAll("input[id], select[id], textarea[id]").forEach(function (el) {
      const twin = to.querySelector("#" + CSS.escape(el.id));
      if (!twin || el.type === "hidden") { return; }
      if (el.type === "checkbox") {
        if (el.checked !== el.defaultChecked) { twin.checked = el.checked; }
      } else if (el.tagName === "SELECT") {
        const changed = Array.from(el.options).some(function (o) { return o.selected !== o.defaultSelected; });
        if (changed) { twin.value = el.value; }
      } else if (el.value !== el.defaultValue) {
        twin.value = el.value;
      }
    });
    from.querySelectorAll("details[id]").forEach(function (el) {
      const twin = to.querySelector("#" + CSS.escape(el.id));
      if (twin) { twin.open = el.open; }
    });
  }

  async function redraw(card) {
    if (busy.has(card.id)) { return; }
    busy.add(card.id);
    try {
      const response = await fetch(card.dataset.cardSource, { headers: { "HX-Request": "true" } });
      if (!response.ok) { return; }
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById(card.id);
      const current = document.getElementById(card.id);
      if (!fresh || !current) { return; }
      const focused = document.activeElement && current.contains(document.activeElement) ? document.activeElement.id : null;
      carry(current, fresh);
      current.replaceWith(fresh);
      htmx.process(fresh);
      if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
    } finally {
      busy.delete(card.id);
    }
  }

  async function poll() {
    if (document.hidden) { return; }
    try {
      const response = await fetch(source, { headers: { Accept: "application/json" } });
      if (!response.ok) { return; }
      const versions = await response.json();
      Object.keys(versions).forEach(function (domain) {
        const card = document.getElementById("flag-" + domain);
        if (card && card.dataset.version !== versions[domain]) {
          redraw(card);
        }
      });
    } catch (err) {
      // the next poll tries again; the dependency banner reports an unreachable console
    }
  }

  // A write that answered with only part of a card (a plan's start, pause, abort) checks at once
  // whether the card's state moved (a preview changes nothing, so it stays); a refusal leaves the
  // card alone so its message stays next to the control.
  const partial = new WeakMap();
  document.addEventListener("htmx:beforeRequest", function (event) {
    const card = event.detail.elt.closest && event.detail.elt.closest("article.flag[data-version]");
    const verb = (event.detail.requestConfig && event.detail.requestConfig.verb) || "get";
    if (card && verb !== "get" && event.detail.target !== card) { partial.set(event.detail.xhr, card.id); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (partial.has(event.detail.xhr) && event.detail.successful) { poll(); }
  });
  document.addEventListener("visibilitychange", poll);
  setInterval(poll, 1000);
})();

// Polling pauses while the tab is hidden (htmx "every" triggers, then one catch-up on return), and
// every <time datetime> gets the operator's local time as a tooltip (pages show UTC).
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (event) {
    const trigger = event.detail.elt.getAttribute && event.detail.elt.getAttribute("hx-trigger");
    if (document.hidden && trigger && trigger.indexOf("every") >= 0) { event.preventDefault(); }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || typeof htmx === "undefined") { return; }
    document.querySelectorAll("[hx-trigger*='every']").forEach(function (el) { htmx.trigger(el, "refresh-now"); });
  });
  function localTimes(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("time[datetime]:not([title])").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      if (!isNaN(date)) { el.title = "your time: " + date.toLocaleString(undefined, { timeZoneName: "short" }); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
  document.addEventListener("htmx:afterSettle", function (event) { localTimes(event.detail.elt); });
})();

// Polled parts marked data-only-changes tell the server what they show (X-Shown: the hash it sent
// with the last answer); an unchanged part answers 204 and htmx leaves the page alone.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    const el = event.detail.elt;
    if (el.hasAttribute && el.hasAttribute("data-only-changes") && el.dataset.shown) {
      event.detail.headers["X-Shown"] = el.dataset.shown;
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const el = event.detail.elt;
    const xhr = event.detail.xhr;
    const hash = xhr && xhr.getResponseHeader("X-Content-Hash");
    if (hash && el.hasAttribute && el.hasAttribute("data-only-changes")) { el.dataset.shown = hash; }
  });
})();
