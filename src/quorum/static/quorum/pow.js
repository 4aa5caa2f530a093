// Quorum's proof-of-work solver (classic ALTCHA protocol): find `number` such that
// SHA-256(salt + number) == challenge, then put the payload into the form's `altcha` field.
// No dependencies, no inline script (CSP script-src 'self'). Texts come from data-
// attributes on [data-pow-status], so they are translated by the server.
(function () {
  "use strict";

  var BATCH = 500; // hashes between two yields to the UI
  var encoder = new TextEncoder();

  function hex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function nextTick() {
    return new Promise(function (resolve) { setTimeout(resolve, 0); });
  }

  // Resolves with the base64 JSON payload, or rejects when no number up to maxnumber fits.
  async function solve(challenge) {
    if (!window.crypto || !window.crypto.subtle) throw new Error("WebCrypto is not available");
    if (challenge.algorithm !== "SHA-256") throw new Error("unsupported algorithm");
    var max = challenge.maxnumber || challenge.maxNumber || 1000000;
    var started = Date.now();
    for (var start = 0; start <= max; start += BATCH) {
      var end = Math.min(start + BATCH - 1, max);
      var hashes = [];
      for (var n = start; n <= end; n++) {
        hashes.push(crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n)));
      }
      var results = await Promise.all(hashes);
      for (var i = 0; i < results.length; i++) {
        if (hex(results[i]) === challenge.challenge) {
          return btoa(JSON.stringify({
            algorithm: challenge.algorithm,
            challenge: challenge.challenge,
            number: start + i,
            salt: challenge.salt,
            signature: challenge.signature,
            took: Date.now() - started
          }));
        }
      }
      await nextTick();
    }
    throw new Error("no solution found");
  }

  function setStatus(form, state) {
    var status = form.querySelector("[data-pow-status]");
    if (!status) return;
    status.setAttribute("aria-live", "polite");
    status.setAttribute("data-pow-state", state);
    var text = status.getAttribute("data-" + state);
    if (text !== null) status.textContent = text;
  }

  function fetchChallenge(form) {
    var scope = form.getAttribute("data-pow-scope") || "";
    var url = "/api/v1/pow/challenge?scope=" + encodeURIComponent(scope);
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("challenge request failed: " + response.status);
        return response.json();
      });
  }

  function start(form) {
    var input = form.querySelector("input[name=altcha]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "altcha";
      form.appendChild(input);
    }
    var state, solution, waiting = false;

    function refresh() {
      state = "working";
      input.value = "";
      setStatus(form, state);
      solution = fetchChallenge(form).then(function (challenge) {
        return solve(challenge).then(function (payload) {
          input.value = payload;
          state = "ready";
          setStatus(form, state);
          // A challenge expires: solve a fresh one shortly before, for a page left open.
          var expires = /[?&]expires=(\d+)/.exec(challenge.salt);
          if (expires) setTimeout(refresh, Math.max(expires[1] * 1000 - Date.now() - 30000, 5000));
        });
      }).catch(function () {
        state = "failed";
        setStatus(form, state);
      });
    }

    // A solution the server sent back (the review page carries the form's): keep it while it
    // is valid, rather than make the signatory wait for a new one.
    function carriedExpiry() {
      if (!input.value) return 0;
      try {
        var salt = JSON.parse(atob(input.value)).salt || "";
        var expires = /[?&]expires=(\d+)/.exec(salt);
        return expires ? expires[1] * 1000 : 0;
      } catch (error) {
        return 0;
      }
    }

    form.addEventListener("submit", function (event) {
      if (state !== "working") return; // ready, or failed: the server explains what to do
      // Not solved yet: hold the submission, and send it once the solution is in.
      event.preventDefault();
      if (waiting) return; // a second click while we wait
      waiting = true;
      var submitter = event.submitter || null;
      solution.then(function () {
        waiting = false;
        if (form.requestSubmit) form.requestSubmit(submitter);
        else form.submit();
      });
    });
    var carried = carriedExpiry();
    if (carried - Date.now() > 60000) {
      state = "ready";
      solution = Promise.resolve();
      setStatus(form, state);
      setTimeout(refresh, carried - Date.now() - 30000);
    } else {
      refresh();
    }
  }

  function init() {
    var forms = document.querySelectorAll("form");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      if (form.hasAttribute("data-pow-started")) continue;
      if (!form.hasAttribute("data-pow-scope") && !form.querySelector("input[name=altcha]")) continue;
      form.setAttribute("data-pow-started", "");
      start(form);
    }
  }

  window.quorumSolvePow = solve;
  // signing.js brings a Member State's form into the page: it starts the check there.
  window.quorumPowInit = init;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
