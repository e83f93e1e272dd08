/* The clerk's pages (walkins/views.py, clerk pages); no build step, loaded with defer.

   1. The counter workstation: each action has a key (data-shortcut, shown on its button),
      never taken while typing in a field or with Ctrl/Alt/Cmd, nor while an action is on its
      way; T puts the focus on the transfer's service list, where Enter sends it. Answers
      that refuse (4xx) are shown in place like the others. An action and the poll share one
      htmx sync point (hx-sync on #workstation): an action aborts a poll on its way, so a
      late poll can never put back the state before the action; a poll is skipped while an
      action is on its way or the service list is in use. After an action the focus goes to
      the one obvious next action (data-primary); a poll keeps the focus where it was.
      "Busy" is a time, not a flag: an action whose form was replaced sends no afterRequest
      to the document, and the keys must not stay dead.
   2. Printing a ticket ([data-print]), and, when the clerk ticked it, at once for each new
      ticket (remembered in this browser).
   3. Check-in: the field takes a handheld scanner (it types and presses Enter); the camera
      reads the QR code where the browser has a BarcodeDetector, else a note says to use the
      scanner or type. Nothing leaves the device but the code read.
   4. Triage: the permit, residency and endorsement questions show only for the service that
      asks them (data-asks-situation). */
(function () {
  "use strict";

  var BUSY_MS = 15000;
  var busySince = 0;

  function busy() {
    return busySince !== 0 && Date.now() - busySince < BUSY_MS;
  }

  function editable(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // 1. The workstation.
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    if (editable(event.target) || busy() || !event.key || event.key.length !== 1) return;
    var key = event.key.toLowerCase();
    var target = null;
    document.querySelectorAll("[data-shortcut]").forEach(function (el) {
      if (!target && el.getAttribute("data-shortcut") === key && !el.disabled && el.offsetParent !== null) target = el;
    });
    if (!target) return;
    event.preventDefault();
    if (target.tagName === "SELECT") target.focus();
    else target.click();
  });

  document.addEventListener("keydown", function (event) {
    var select = event.target;
    if (!select || select.tagName !== "SELECT" || !select.closest("form[data-transfer]")) return;
    if (event.key === "Enter") {
      event.preventDefault();
      select.form.requestSubmit();
    } else if (event.key === "Escape") {
      select.blur();
    }
  });

  function inWorkstation(el) {
    return el && el.closest && (el.closest("#workstation") || el.id === "workstation");
  }

  function isPoll(detail) {
    return detail && detail.requestConfig && detail.requestConfig.verb === "get";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!inWorkstation(event.target)) return;
    if (isPoll(event.detail)) {
      var active = document.activeElement;
      if (busy() || (active && active.tagName === "SELECT" && inWorkstation(active))) event.preventDefault();
      return;
    }
    busySince = Date.now();
  });

  ["htmx:afterRequest", "htmx:afterSwap", "htmx:sendError", "htmx:sendAbort"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (!isPoll(event.detail)) busySince = 0;
    });
  });

  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    focusedId = isPoll(event.detail) && active && inWorkstation(active) ? active.id : null;
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status >= 400 && status < 500 && inWorkstation(event.detail.target)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (isPoll(event.detail)) {
      var again = focusedId && document.getElementById(focusedId);
      if (again) again.focus();
      return;
    }
    var station = document.getElementById("workstation");
    if (!station || !inWorkstation(event.detail.target)) return;
    var primary = station.querySelector("[data-primary]");
    if (primary) primary.focus();
  });

  // 2. Printing.
  var AUTO_PRINT = "walkins:auto-print";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });
  document.querySelectorAll("[data-auto-print]").forEach(function (box) {
    try { box.checked = localStorage.getItem(AUTO_PRINT) === "1"; } catch (e) { /* storage refused */ }
    box.addEventListener("change", function () {
      try { localStorage.setItem(AUTO_PRINT, box.checked ? "1" : "0"); } catch (e) { /* storage refused */ }
    });
    var ticket = document.querySelector("[data-ticket]");
    if (!box.checked || !ticket) return;
    var key = "walkins:printed:" + ticket.getAttribute("data-ticket");
    try {
      if (sessionStorage.getItem(key)) return;
      sessionStorage.setItem(key, "1");
    } catch (e) { return; }
    window.setTimeout(function () { window.print(); }, 300);
  });

  // 3. Check-in.
  function setupCheckIn(form) {
    var field = form.querySelector("[data-scan-target]");
    if (field && field.value) field.select(); // the next scan replaces what was read before
    var start = form.querySelector("[data-camera-start]");
    var note = form.querySelector("[data-camera-unavailable]");
    var box = form.querySelector("[data-camera]");
    if (!start || !box || !field) return;
    var video = box.querySelector("[data-camera-video]");
    var status = box.querySelector("[data-camera-status]");
    var stop = box.querySelector("[data-camera-stop]");
    var unavailable = function () { start.hidden = true; note.hidden = false; };
    var media = navigator.mediaDevices;
    if (!("BarcodeDetector" in window) || !media || typeof media.getUserMedia !== "function" || !window.isSecureContext) {
      unavailable();
      return;
    }
    var formats = typeof window.BarcodeDetector.getSupportedFormats === "function"
      ? window.BarcodeDetector.getSupportedFormats() : Promise.resolve(["qr_code"]);
    Promise.resolve(formats).then(function (list) {
      if (list && list.indexOf("qr_code") !== -1) start.hidden = false;
      else unavailable();
    }, unavailable);

    var stream = null;
    var timer = null;
    var detector = null;

    function close() {
      if (timer) window.clearTimeout(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.srcObject = null;
      box.hidden = true;
      start.hidden = false;
    }

    function scan() {
      if (!stream) return;
      detector.detect(video).then(function (codes) {
        var found = codes && codes.length && codes[0].rawValue;
        if (!found) {
          timer = window.setTimeout(scan, 250);
          return;
        }
        field.value = String(found).slice(0, 64);
        close();
        form.requestSubmit();
      }, function () { timer = window.setTimeout(scan, 500); });
    }

    start.addEventListener("click", function () {
      try {
        detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (e) {
        unavailable();
        return;
      }
      status.textContent = box.getAttribute("data-msg-opening") || "";
      box.hidden = false;
      start.hidden = true;
      media.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (opened) {
        stream = opened;
        video.srcObject = opened;
        var playing = video.play();
        status.textContent = box.getAttribute("data-msg-point") || "";
        Promise.resolve(playing).then(scan, scan);
      }, function () {
        close();
        start.hidden = true;
        note.hidden = false;
        status.textContent = "";
        var denied = box.getAttribute("data-msg-denied");
        if (denied) note.textContent = denied;
        field.focus();
      });
    });
    stop.addEventListener("click", function () { close(); field.focus(); });
    window.addEventListener("pagehide", close);
  }
  document.querySelectorAll("form[data-check-in]").forEach(setupCheckIn);

  // 4. Triage.
  document.querySelectorAll("form[data-triage]").forEach(function (form) {
    var situation = form.querySelector("[data-situation]");
    if (!situation) return;
    var update = function () {
      var chosen = form.querySelector('input[name="service"]:checked');
      situation.hidden = !(chosen && chosen.hasAttribute("data-asks-situation"));
    };
    form.addEventListener("change", update);
    update();
  });
})();
