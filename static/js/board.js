/* The display board (templates/walkins/board*.html); no build step, after htmx.

   htmx asks for the board's live part every second; the server answers 204 when nothing
   changed. Each call on the board carries data-call (the ticket and the moment it was
   called, so a recall is a new call) and its spoken text in Chinese and English. A call
   not seen before is announced: a chime (made with WebAudio, no sound file), then the
   call spoken in Chinese, then in English, one call after the other.

   Browsers play sound only after a user gesture: the operator presses the sound button
   once; the choice is remembered (localStorage) and, after a restart of the browser, the
   first touch anywhere on the page turns it back on. A board started with Chromium's
   --autoplay-policy=no-user-gesture-required needs no touch at all. */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.hasAttribute("data-board")) return;
  var SOUND_KEY = "board:sound";
  var SPEECH_TIMEOUT_MS = 12000;
  var button = document.querySelector("[data-sound]");
  var offline = document.querySelector("[data-offline]");
  var audio = null;
  var seen = {};
  var pending = [];
  var busy = false;

  function wanted() {
    try { return localStorage.getItem(SOUND_KEY) === "on"; } catch (e) { return false; }
  }

  function remember(on) {
    try {
      if (on) localStorage.setItem(SOUND_KEY, "on");
      else localStorage.removeItem(SOUND_KEY);
    } catch (e) { /* the choice lasts until the page reloads */ }
  }

  function unlock() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !audio) audio = new Context();
    var resumed = audio && audio.state === "suspended" ? audio.resume() : Promise.resolve();
    if (window.speechSynthesis) {
      var silent = new SpeechSynthesisUtterance(" ");
      silent.volume = 0;
      window.speechSynthesis.speak(silent);
    }
    return resumed;
  }

  function soundOn() {
    return wanted() && audio !== null && audio.state === "running";
  }

  function showButton() {
    if (!button) return;
    var on = soundOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = button.getAttribute(on ? "data-on" : "data-off");
    button.classList.toggle("on", on);
    body.setAttribute("data-sound-state", on ? "on" : "off");
  }

  if (button) {
    button.addEventListener("click", function () {
      if (soundOn()) {
        remember(false);
        showButton();
        return;
      }
      remember(true);
      unlock().then(showButton, showButton);
    });
  }
  // After a restart, the first touch anywhere brings the sound back.
  document.addEventListener("pointerdown", function (event) {
    if (wanted() && !soundOn() && event.target !== button) unlock().then(showButton, showButton);
  });
  if (wanted()) {
    try { unlock().then(showButton, showButton); } catch (e) { showButton(); }
  }
  showButton();

  function chime() {
    if (!audio) return;
    var start = audio.currentTime + 0.05;
    [[880, 0], [660, 0.45]].forEach(function (tone) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, start + tone[1]);
      gain.gain.exponentialRampToValueAtTime(0.6, start + tone[1] + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + tone[1] + 0.8);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + tone[1]);
      oscillator.stop(start + tone[1] + 0.85);
    });
  }

  function voiceFor(prefix) {
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      if (voices[i].lang && voices[i].lang.toLowerCase().indexOf(prefix) === 0) return voices[i];
    }
    return null;
  }

  function utterance(text, lang, prefix) {
    var said = new SpeechSynthesisUtterance(text);
    said.lang = lang;
    said.rate = 0.9;
    var voice = voiceFor(prefix);
    if (voice) said.voice = voice;
    return said;
  }

  function next() {
    if (busy || !pending.length) return;
    busy = true;
    var call = pending.shift();
    var finished = false;
    function done() {
      if (finished) return;
      finished = true;
      busy = false;
      next();
    }
    chime();
    setTimeout(function () {
      if (!window.speechSynthesis) return done();
      var english = utterance(call.en, "en-US", "en");
      english.onend = done;
      english.onerror = done;
      window.speechSynthesis.speak(utterance(call.zh, "zh-CN", "zh"));
      window.speechSynthesis.speak(english);
      setTimeout(done, SPEECH_TIMEOUT_MS); // a voice that never ends must not stop the board
    }, 900);
  }

  function announce(element) {
    var call = { zh: element.getAttribute("data-say-zh"), en: element.getAttribute("data-say-en") };
    body.setAttribute("data-last-call", element.getAttribute("data-call"));
    if (!soundOn()) return;
    pending.push(call);
    next();
  }

  // Calls on the board now; those not seen before are announced, the oldest first.
  function scan(first) {
    var now = {};
    var fresh = [];
    document.querySelectorAll("#board-live [data-call]").forEach(function (element) {
      var key = element.getAttribute("data-call");
      now[key] = true;
      if (!seen[key] && !first) fresh.push(element);
    });
    seen = now;
    fresh.forEach(function (element) { element.classList.add("call-new"); });
    fresh.reverse().forEach(announce);
  }
  scan(true);

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "board-live") scan(false);
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (offline) offline.hidden = !event.detail.failed;
  });
  ["htmx:sendError", "htmx:responseError", "htmx:timeout"].forEach(function (name) {
    document.body.addEventListener(name, function () { if (offline) offline.hidden = false; });
  });
})();
