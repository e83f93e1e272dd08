/* Small behaviours of the page forms; no build step, loaded with defer after htmx.

   1. Switching language keeps what was typed: the language form (a plain POST to
      /i18n/setlang/) stores the fields of the page's form[data-keep] in sessionStorage
      and the next load of the same page puts them back, then forgets them. Never kept:
      the CSRF token, hidden and password inputs, anything marked data-no-keep (ID numbers).
   2. An error summary ([data-error-summary]) takes the focus when the page loads, and its
      links move the focus to the field they name.
   3. A slot picker ([data-slot-picker], driven by htmx) never shows the slots of a day other
      than the one selected: they are cleared the moment the service or day changes, a
      status (aria-live) says they are loading, and text typed in the fields named by
      data-carry survives the swap. */
(function () {
  "use strict";

  var KEEP_KEY = "bureau:kept-form";

  function keepable(el) {
    if (!el.name || el.disabled || el.name === "csrfmiddlewaretoken" || el.hasAttribute("data-no-keep")) return false;
    return ["hidden", "password", "file", "submit", "button", "reset"].indexOf(el.type) === -1;
  }

  function snapshot(container, names) {
    var fields = [];
    container.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!keepable(el) || (names && names.indexOf(el.name) === -1)) return;
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) fields.push({ name: el.name, value: el.value, checked: true });
      } else if (el.value !== "") {
        fields.push({ name: el.name, value: el.value });
      }
    });
    return fields;
  }

  function putBack(container, fields, skip) {
    fields.forEach(function (field) {
      if (skip && skip.indexOf(field.name) !== -1) return;
      container.querySelectorAll("input, select, textarea").forEach(function (el) {
        if (el.name !== field.name || !keepable(el)) return;
        if (el.type === "radio" || el.type === "checkbox") {
          if (field.checked && el.value === field.value) el.checked = true;
        } else if (el.tagName === "SELECT") {
          var offered = Array.prototype.some.call(el.options, function (o) { return o.value === field.value; });
          if (offered) el.value = field.value;
        } else if (el.value === "") {
          el.value = field.value;
        }
      });
    });
  }

  function names(el, attribute) {
    return (el.getAttribute(attribute) || "").split(/\s+/).filter(Boolean);
  }

  // 1. Language switch.
  document.addEventListener("submit", function (event) {
    var lang = event.target;
    if (!lang.matches("form.lang")) return;
    var next = lang.querySelector('input[name="next"]');
    var path = location.pathname + location.search; // as htmx may have pushed it
    var form = document.querySelector("form[data-keep]");
    if (form) {
      var query = names(form, "data-keep-query");
      if (query.length) {
        // The choices that make the page (service and day) go in the address, so the page
        // comes back showing the same slots; the rest is put back from storage.
        var params = new URLSearchParams();
        query.forEach(function (name) {
          var el = form.elements[name];
          if (el && el.value) params.set(name, el.value);
        });
        path = location.pathname + (params.toString() ? "?" + params.toString() : "");
      }
      try {
        sessionStorage.setItem(KEEP_KEY, JSON.stringify({ path: location.pathname, fields: snapshot(form) }));
      } catch (e) { /* storage full or refused: the language still changes */ }
    }
    if (next) next.value = path;
  });

  (function restore() {
    var raw = null;
    try {
      raw = sessionStorage.getItem(KEEP_KEY);
      sessionStorage.removeItem(KEEP_KEY);
    } catch (e) { return; }
    if (!raw) return;
    var kept;
    try { kept = JSON.parse(raw); } catch (e) { return; }
    var form = document.querySelector("form[data-keep]");
    if (!form || !kept || kept.path !== location.pathname || !Array.isArray(kept.fields)) return;
    putBack(form, kept.fields, names(form, "data-keep-query"));
  })();

  // 2. Error summary.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    var id = link.getAttribute("href").slice(1);
    var target = document.getElementById(id) || document.getElementById(id + "_error");
    if (!target) return;
    event.preventDefault();
    var control = target.matches("input, select, textarea")
      ? target
      : target.querySelector("input:not([type=hidden]):not([disabled]), select, textarea");
    target.scrollIntoView({ block: "center" });
    (control || target).focus({ preventScroll: true });
  });

  // 3. Slot picker.
  function slotsStatus() { return document.getElementById("slots-status"); }

  function say(key, hidden) {
    var status = slotsStatus();
    if (!status) return;
    status.textContent = key.charAt(0) === "@" ? key.slice(1) : status.getAttribute(key) || "";
    status.classList.toggle("visually-hidden", hidden);
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.tagName !== "SELECT" || !select.closest("[data-slot-picker]") || !window.htmx) return;
    var slots = document.getElementById("slots");
    if (slots) {
      slots.replaceChildren(); // no radio of the old day stays on the page, nor in the form
      slots.hidden = true;
    }
    document.querySelectorAll("[data-day-part]").forEach(function (part) { part.hidden = true; });
    say("data-loading", false);
  });

  var carried = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var picker = event.detail.target;
    carried = picker && picker.matches("[data-slot-picker]") ? snapshot(picker, names(picker, "data-carry")) : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    var picker = document.querySelector("[data-slot-picker][data-carry]");
    if (carried && picker) putBack(picker, carried);
    carried = null;
    var slots = document.getElementById("slots");
    if (slots && slotsStatus()) say("@" + (slots.getAttribute("data-announce") || ""), true);
  });

  ["htmx:responseError", "htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function () { say("data-failed", false); });
  });
})();
