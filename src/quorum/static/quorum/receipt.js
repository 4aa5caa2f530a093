// Quorum's receipt check, done by the browser itself. It trusts only the public API: it
// checks the log key's id, the checkpoint's Ed25519 signature (C2SP signed note) and origin,
// then the RFC 9162 inclusion proof of the receipt (the leaf hash) against the signed root.
// No dependencies, no inline script (CSP script-src 'self'); texts come translated from data-
// attributes of #browser-result (the technical account) and #receipt-status (the plain one).
// On the check page it checks the receipt in the form; right after signing (an element with
// data-receipt-check and data-receipt) it checks the new receipt by itself, again and again
// for about two minutes, until the statement is counted. window.quorumVerifyInclusion is
// exposed for tests.
(function () {
  "use strict";

  var encoder = new TextEncoder();
  var RECEIPT = /^[0-9a-f]{64}$/;

  function hexToBytes(hex) {
    if (typeof hex !== "string" || !/^([0-9a-fA-F]{2})*$/.test(hex)) throw new Error("not hex");
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function base64ToBytes(text) {
    var binary = atob(text); // throws on anything that is not base64
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  function concat(parts) {
    var length = parts.reduce(function (sum, p) { return sum + p.length; }, 0);
    var out = new Uint8Array(length), offset = 0;
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    var diff = 0;
    for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  function nodeHash(left, right) {
    return sha256(concat([Uint8Array.of(1), left, right]));
  }

  function bigSize(n) {
    if (typeof n === "bigint") return n;
    if (!Number.isSafeInteger(n)) throw new Error("not an integer");
    return BigInt(n);
  }

  // RFC 9162 §2.1.3.2: does `path` show that leaf `index` of a `size`-leaf tree is `leafHex`?
  async function verifyInclusion(leafHex, index, size, pathHex, rootBytes) {
    try {
      var r = hexToBytes(leafHex), root = new Uint8Array(rootBytes);
      var fn = bigSize(index), sn = bigSize(size) - 1n;
      if (r.length !== 32 || root.length !== 32 || !Array.isArray(pathHex)) return false;
      if (fn < 0n || fn > sn) return false;
      for (var i = 0; i < pathHex.length; i++) {
        var p = hexToBytes(pathHex[i]);
        if (p.length !== 32 || sn === 0n) return false;
        if ((fn & 1n) === 1n || fn === sn) {
          r = await nodeHash(p, r);
          while (fn !== 0n && (fn & 1n) === 0n) { fn >>= 1n; sn >>= 1n; }
        } else {
          r = await nodeHash(r, p);
        }
        fn >>= 1n; sn >>= 1n;
      }
      return sn === 0n && equal(r, root);
    } catch (e) {
      return false;
    }
  }
  window.quorumVerifyInclusion = verifyInclusion;

  function Failure(kind) { this.kind = kind; }

  // C2SP signed note + tlog-checkpoint: returns {size: "decimal", root: Uint8Array}.
  async function openCheckpoint(note, verifier, origin) {
    verifier = verifier.trim();
    var first = verifier.indexOf("+"), second = verifier.indexOf("+", first + 1);
    if (first < 1 || second < 0) throw new Failure("failed");
    var name = verifier.slice(0, first);
    var id = hexToBytes(verifier.slice(first + 1, second));
    var raw = base64ToBytes(verifier.slice(second + 1));
    if (id.length !== 4 || raw.length !== 33 || raw[0] !== 1) throw new Failure("failed");
    var publicKey = raw.slice(1);
    var computed = await sha256(concat([encoder.encode(name), Uint8Array.of(0x0a, 0x01), publicKey]));
    if (!equal(computed.slice(0, 4), id)) throw new Failure("failed");
    var split = note.lastIndexOf("\n\n");
    if (split < 0 || !note.endsWith("\n")) throw new Failure("failed");
    var text = note.slice(0, split + 1);
    var lines = note.slice(split + 2, -1).split("\n");
    var key;
    try {
      key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      throw new Failure("unsupported");
    }
    var verified = false;
    for (var i = 0; i < lines.length; i++) {
      if (lines[i].indexOf("\u2014 ") !== 0) throw new Failure("failed");
      var rest = lines[i].slice(2), space = rest.indexOf(" ");
      var blob = base64ToBytes(rest.slice(space + 1));
      if (rest.slice(0, space) !== name || !equal(blob.slice(0, 4), id)) continue; // others' lines
      var good = blob.length === 68 &&
        await crypto.subtle.verify({ name: "Ed25519" }, key, blob.slice(4), encoder.encode(text));
      if (!good) throw new Failure("failed");
      verified = true;
    }
    var body = text.slice(0, -1).split("\n");
    if (!verified || body.length < 3 || body[0] !== origin) throw new Failure("failed");
    if (!/^(0|[1-9][0-9]*)$/.test(body[1])) throw new Failure("failed");
    var root = base64ToBytes(body[2]);
    if (root.length !== 32) throw new Failure("failed");
    return { size: body[1], root: root };
  }

  function bytesToHex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  async function fetched(url) {
    var response;
    try {
      response = await fetch(url, { cache: "no-store", credentials: "omit" });
    } catch (e) {
      throw new Failure("offline");
    }
    if (response.status === 404) throw new Failure("absent");
    if (response.status === 422) throw new Failure("invalid");
    if (!response.ok) throw new Failure("offline");
    return response;
  }

  async function get(url, as) {
    var response = await fetched(url);
    return as === "json" ? response.json() : response.text();
  }

  async function check(source, receipt) {
    var answers = await Promise.all([get(source.dataset.logKeyUrl), fetched(source.dataset.checkpointUrl)]);
    var verifier = answers[0], note = await answers[1].text();
    var keyName = verifier.trim().split("+")[0];
    var checkpoint = await openCheckpoint(note, verifier, keyName + "/" + source.dataset.slug);
    if (checkpoint.size === "0") throw new Failure("absent");
    var url = source.dataset.proofUrl + "?receipt=" + receipt + "&size=" + checkpoint.size;
    var proof = await get(url, "json");
    var ok = String(proof.tree_size) === checkpoint.size &&
      await verifyInclusion(receipt, proof.leaf_index, proof.tree_size, proof.path, checkpoint.root);
    if (!ok) throw new Failure("failed");
    // When the checkpoint was signed: the API serves it with that time as Last-Modified.
    var signed = Date.parse(answers[1].headers.get("Last-Modified") || "");
    return {
      entry: proof.leaf_index + 1,
      size: proof.tree_size,
      leafIndex: proof.leaf_index,
      root: bytesToHex(checkpoint.root),
      signedAt: isNaN(signed) ? null : new Date(signed)
    };
  }

  function localeOf(element) {
    // The locale the server wrote its numbers in (data-locale, "pt-PT" for a page in "pt").
    return (element && element.getAttribute("data-locale")) || document.documentElement.lang || undefined;
  }

  function say(output, state, values) {
    if (!output) return;
    var format = new Intl.NumberFormat(localeOf(output));
    var text = output.getAttribute("data-" + state) || "";
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(format.format(values[name]));
    });
    output.setAttribute("data-state", state);
    output.className = "browser-result " + (state === "counted" ? "ok" : "notice");
    output.textContent = text;
  }

  // The plain account: changed only when its meaning changes, so that a screen reader
  // (aria-live="polite") hears each news once.
  function tell(status, state) {
    if (!status || status.getAttribute("data-state") === state) return;
    var text = status.getAttribute("data-" + state);
    if (!text) return;
    status.setAttribute("data-state", state);
    status.textContent = text;
    status.hidden = false;
  }

  // The technical details the browser found itself (entry, size, root, when signed).
  function showTechnical(found, locale) {
    var values = {
      "leaf-index": String(found.leafIndex),
      "tree-size": String(found.size),
      "root": found.root,
      "signed-at": found.signedAt ?
        found.signedAt.toLocaleString(locale, { dateStyle: "long", timeStyle: "short" }) : ""
    };
    Object.keys(values).forEach(function (name) {
      document.querySelectorAll('[data-technical="' + name + '"]').forEach(function (field) {
        if (!values[name]) return;
        field.textContent = values[name];
        var row = field.closest("[data-technical-row]");
        if (row) row.hidden = false;
      });
    });
  }

  // A statement joins the log at the next checkpoint (every second or so), and a cache may hand
  // out the previous one for a moment: "not there yet" and "could not reach" are asked again
  // every 1.5 s at first, then a little less often, for about two minutes. A newer check
  // replaces an older one.
  var FIRST_DELAY_MS = 1500, LONGEST_DELAY_MS = 8000, GROWTH = 1.2, GIVE_UP_AFTER_MS = 120000;
  var current = 0;

  async function run(source, output, status, receipt) {
    var mine = ++current;
    var began = Date.now(), delay = FIRST_DELAY_MS;
    var expected = status ? status.getAttribute("data-state") || "" : "";
    if (!expected) tell(status, "checking");
    say(output, "checking");
    for (;;) {
      try {
        var found = await check(source, receipt);
        if (mine !== current) return;
        say(output, "counted", found);
        tell(status, "counted");
        showTechnical(found, localeOf(output || status));
        document.dispatchEvent(new CustomEvent("quorum:counted", { detail: found }));
        return;
      } catch (e) {
        if (mine !== current) return;
        var kind = e instanceof Failure ? e.kind : "failed";
        say(output, kind);
        var again = (kind === "absent" || kind === "offline") &&
          Date.now() + delay - began < GIVE_UP_AFTER_MS;
        if (!again) {
          if (kind === "absent") tell(status, expected === "pending" ? "slow" : "absent");
          else if (kind !== "unsupported" || !expected) tell(status, kind);
          return;
        }
        await new Promise(function (resolve) { setTimeout(resolve, delay); });
        delay = Math.min(LONGEST_DELAY_MS, delay * GROWTH);
        if (mine !== current) return;
      }
    }
  }

  function start() {
    var source = document.querySelector("[data-receipt-check]");
    var output = document.getElementById("browser-result");
    var status = document.getElementById("receipt-status");
    if (!source || !window.crypto || !crypto.subtle || !window.fetch) return;
    if (source.tagName !== "FORM") {
      // Right after signing: the receipt is known, check it until it is counted.
      if (RECEIPT.test(source.dataset.receipt || "")) run(source, output, status, source.dataset.receipt);
      return;
    }
    var form = source;
    var input = form.querySelector("input[name=receipt]");
    function normalised() { return input.value.replace(/\s+/g, "").toLowerCase(); }
    form.addEventListener("submit", function (event) {
      var receipt = normalised();
      if (!RECEIPT.test(receipt)) return; // the server explains what is wrong
      event.preventDefault();
      input.value = receipt;
      ["server-result", "error-summary", "field-receipt-error"].forEach(function (id) {
        var old = document.getElementById(id);
        if (old) old.hidden = true;
      });
      document.querySelectorAll("[data-technical-row]").forEach(function (row) { row.hidden = true; });
      input.removeAttribute("aria-invalid");
      if (status) status.removeAttribute("data-state");
      history.replaceState(null, "", form.action + "?receipt=" + receipt);
      document.dispatchEvent(new CustomEvent("quorum:receipt", { detail: receipt }));
      run(form, output, status, receipt);
    });
    if (new URLSearchParams(location.search).has("receipt") && RECEIPT.test(normalised())) {
      run(form, output, status, normalised());
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
