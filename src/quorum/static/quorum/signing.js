// Signing on one page: choosing the nationality brings that Member State's form in below,
// without a reload, and puts its address in the history (reload and Back work as expected).
// Without JavaScript the Continue button does the same in two steps. Also: the hint under the
// ID number follows the chosen document type. No dependencies, no inline script.
(function () {
  "use strict";

  var latest = 0; // only the answer to the last choice is shown

  function area() {
    return document.getElementById("signing-form-area");
  }

  function formUrl(form, code) {
    // The framed form keeps its query (?lang=, ?via=) through the steps.
    var query = form.getAttribute("data-form-query") || "";
    return form.getAttribute("data-form-url") + code.toLowerCase() + "/" + query;
  }

  // What was typed in the fields both forms have (the names, the privacy box) moves along.
  function carryValues(from, to) {
    if (!from) return;
    var inputs = to.querySelectorAll("input[name], select[name]");
    for (var i = 0; i < inputs.length; i++) {
      var target = inputs[i];
      if (target.type === "hidden") continue;
      var source = from.querySelector("[name='" + target.name.replace(/'/g, "") + "']");
      if (!source) continue;
      if (target.type === "checkbox") target.checked = source.checked;
      else if (source.value) target.value = source.value;
    }
  }

  // The language switcher comes back to the address it was rendered at: once the address
  // bar shows the chosen form's address, so must the switcher, or a new language loses it.
  function followAddress() {
    var next = document.querySelector(".language-switcher input[name=next]");
    if (next) next.value = window.location.pathname + window.location.search;
  }

  function show(url, push) {
    var ticket = ++latest;
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("form request failed: " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (ticket !== latest) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("signing-form-area");
        var current = area();
        if (!fresh || !current) throw new Error("no form in the answer");
        var adopted = document.importNode(fresh, true);
        carryValues(current, adopted);
        current.replaceWith(adopted);
        document.title = page.title;
        if (push) history.pushState({ signing: true }, "", url);
        followAddress();
        var heading = adopted.querySelector("h2");
        var announce = document.getElementById("signing-announce");
        if (announce && heading) announce.textContent = heading.textContent;
        startForm(adopted);
      })
      .catch(function () {
        if (ticket === latest) window.location.href = url; // the plain way still works
      });
  }

  function clear(push, url) {
    latest++;
    var current = area();
    if (current) {
      var empty = document.createElement("div");
      empty.id = "signing-form-area";
      current.replaceWith(empty);
    }
    if (push) history.pushState({ signing: true }, "", url);
    followAddress();
  }

  function followIdType(root) {
    var select = root.querySelector("select[name=id_type]");
    var hints = root.querySelectorAll("[data-id-hints] [data-id-type]");
    if (!select || hints.length < 2) return;
    function update() {
      for (var i = 0; i < hints.length; i++) {
        var type = hints[i].getAttribute("data-id-type");
        hints[i].hidden = select.value !== "" && type !== select.value;
      }
    }
    select.addEventListener("change", update);
    update();
  }

  function startForm(root) {
    followIdType(root);
    if (window.quorumPowInit) window.quorumPowInit();
  }

  function init() {
    var form = document.getElementById("nationality-form");
    var select = document.getElementById("field-nationality");
    if (area()) followIdType(area());
    if (!form || !select || !window.fetch || !window.DOMParser || !history.pushState) return;
    var start = form.getAttribute("data-form-url");

    function choose(event) {
      if (!select.value) {
        if (event.type === "change") clear(true, start);
        return; // Continue with nothing chosen: the server says what is missing
      }
      if (event.type === "submit") event.preventDefault();
      var url = formUrl(form, select.value);
      if (url === window.location.pathname + window.location.search && area() && area().firstElementChild) return;
      show(url, true);
    }

    select.addEventListener("change", choose);
    form.addEventListener("submit", choose);
    history.replaceState({ signing: true }, "", window.location.href);
    // A choice made before this script ran (a slow phone, a page the browser restored): act
    // on it now rather than leave the person waiting for a form that never comes.
    if (select.value && !(area() && area().firstElementChild)) choose({ type: "change" });
    window.addEventListener("popstate", function () {
      var path = window.location.pathname;
      if (path === start) {
        select.value = "";
        clear(false);
        return;
      }
      var code = path.slice(start.length).replace(/\/$/, "").toUpperCase();
      select.value = code;
      show(path + window.location.search, false); // the query (?via=, ?lang=) stays
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
