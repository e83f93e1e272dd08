/* The kiosk in the hall (templates/walkins/kiosk*.html); no build step.

   1. One press, one ticket: a form[data-once] is sent once, then its buttons are disabled
      (after the browser has read the pressed button's value).
   2. The booking field takes what a handheld scanner types: it has the focus, and keys
      typed while nothing else has it go there.
   3. Back to the start, in the site's language (the hidden #kiosk-reset form): from the
      ticket screen after data-return-seconds (counted down on screen, started again on any
      touch), from the start screen after data-idle-seconds idle if someone left it in
      another language or with something typed or refused.
   4. Printing: the ticket screen prints its slip when this kiosk is set to (open the start
      page once with ?print=1; ?print=0 stops it). Chromium started with --kiosk-printing
      prints without a dialog. */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.hasAttribute("data-kiosk")) return;
  var PRINT_KEY = "kiosk:print";

  function goToStart() {
    var reset = document.getElementById("kiosk-reset");
    if (reset) reset.submit();
    else location.replace(body.getAttribute("data-start") || "/");
  }

  // 1. One press, one ticket.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-once]")) return;
    if (form.getAttribute("data-sent")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
    setTimeout(function () {
      form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
    }, 0);
  });

  // 2. The scanner's field.
  var scanner = document.querySelector("[data-scanner]");
  if (scanner && !document.querySelector(".kiosk-refusal[role=alert]")) scanner.focus();
  document.addEventListener("keydown", function (event) {
    if (!scanner || event.ctrlKey || event.altKey || event.metaKey) return;
    var active = document.activeElement;
    if (active && active !== body && active.matches("input, textarea, select")) return;
    if (event.key && event.key.length === 1) scanner.focus();
  });

  // 3. Back to the start.
  var returnSeconds = parseInt(body.getAttribute("data-return-seconds") || "0", 10);
  var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var countdown = document.querySelector("[data-countdown]");
  var left = 0;
  var timer = null;

  function showLeft() {
    if (!countdown) return;
    countdown.textContent = (countdown.getAttribute("data-template") || "").replace("%(s)s", String(left));
  }

  function leftAlone() {
    // Worth going back from the start screen: another language, something typed or refused.
    if (body.getAttribute("data-language") !== body.getAttribute("data-default-language")) return true;
    if (document.querySelector(".kiosk-refusal[role=alert], .error")) return true;
    return Array.prototype.some.call(document.querySelectorAll("main input:not([type=hidden])"), function (el) {
      return el.value !== "";
    });
  }

  function restart() {
    if (timer) clearInterval(timer);
    left = returnSeconds || idleSeconds;
    if (!left) return;
    showLeft();
    timer = setInterval(function () {
      left -= 1;
      if (returnSeconds) showLeft();
      if (left > 0) return;
      clearInterval(timer);
      if (returnSeconds || leftAlone()) goToStart();
      else restart();
    }, 1000);
  }

  ["pointerdown", "keydown", "input"].forEach(function (name) {
    document.addEventListener(name, restart, { passive: true });
  });
  restart();

  document.addEventListener("click", function (event) {
    var done = event.target.closest && event.target.closest("[data-done]");
    if (done) {
      event.preventDefault();
      goToStart();
      return;
    }
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });

  // 4. Printing.
  try {
    var wanted = new URLSearchParams(location.search).get("print");
    if (wanted === "1") localStorage.setItem(PRINT_KEY, "1");
    if (wanted === "0") localStorage.removeItem(PRINT_KEY);
    if (body.hasAttribute("data-autoprint-ready") && localStorage.getItem(PRINT_KEY) === "1") {
      window.addEventListener("load", function () { window.print(); });
    }
  } catch (e) { /* no storage: print with the button */ }
})();
