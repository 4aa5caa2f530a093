// Keeps the initiative page's counts section live: every data-interval seconds (at least one)
// it reads the public counts API and updates numbers and bars in place. Nothing is announced on
// each tick; a polite live region repeats the total at most every 10 s, and only when it
// changed. Paused while the tab is hidden. No dependencies, no inline script (CSP).
(function () {
  "use strict";

  var ANNOUNCE_EVERY_MS = 10000;

  function start() {
    var section = document.querySelector("[data-counts-url]");
    if (!section || !window.fetch) return;
    var url = section.getAttribute("data-counts-url");
    var seconds = Math.max(1, parseFloat(section.getAttribute("data-interval")) || 1);
    // The server's numbers are CLDR's for this locale (data-locale, e.g. "pt-PT" where the page
    // is in "pt"): the browser's Intl, also CLDR, writes the updates in the same form.
    var locale = section.getAttribute("data-locale") || document.documentElement.lang || undefined;
    var format = new Intl.NumberFormat(locale);
    var percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
    var live = section.querySelector("[data-total-live]");
    var announced = null, announcedAt = 0, timer = null;

    function setText(element, text) {
      if (element && element.textContent !== text) element.textContent = text;
    }

    function setBar(bar, value) {
      if (!bar) return;
      var max = Number(bar.getAttribute("max")) || 0;
      var shown = Math.min(value, max);
      if (bar.value !== shown) bar.value = shown;
      setText(bar, percent.format(max ? Math.floor(shown * 100 / max) / 100 : 0));
    }

    function announce(total) {
      var now = Date.now();
      if (!live || total === announced || now - announcedAt < ANNOUNCE_EVERY_MS) return;
      if (announced !== null) {
        var template = live.getAttribute("data-template") || "{total}";
        live.textContent = template.split("{total}").join(format.format(total));
      }
      announced = total;
      announcedAt = now;
    }

    function apply(data) {
      if (typeof data.total !== "number" || !data.by_member_state) return;
      setText(section.querySelector("[data-total]"), format.format(data.total));
      setBar(section.querySelector("[data-total-bar]"), data.total);
      setText(section.querySelector("[data-states-reached]"), format.format(data.states_reached));
      if (typeof data.total_with_paper === "number") {
        setText(section.querySelector("[data-paper-total]"), format.format(data.paper_declared));
        setText(section.querySelector("[data-total-with-paper]"), format.format(data.total_with_paper));
        setText(section.querySelector("[data-states-reached-with-paper]"), format.format(data.states_reached_with_paper));
      }
      section.querySelectorAll("tr[data-member-state]").forEach(function (row) {
        var state = data.by_member_state[row.getAttribute("data-member-state")];
        if (!state) return;
        setText(row.querySelector("[data-count]"), format.format(state.count));
        setBar(row.querySelector("progress"), state.count);
        // The organisers' declaration of paper statements, beside the log's count, never in it.
        var declared = Number(state.paper_declared) || 0;
        setText(row.querySelector("[data-paper]"), format.format(declared));
        setText(row.querySelector("[data-with-paper]"), format.format(state.count + declared));
        var withPaper = state.reached_with_paper === true;
        row.querySelector("[data-reached-yes]").hidden = !state.reached;
        var paperReached = row.querySelector("[data-reached-paper]");
        if (paperReached) paperReached.hidden = !withPaper;
        row.querySelector("[data-reached-no]").hidden = state.reached || withPaper;
      });
      announce(data.total);
    }

    async function refresh() {
      try {
        var response = await fetch(url, { credentials: "omit", headers: { Accept: "application/json" } });
        if (response.ok) apply(await response.json());
      } catch (e) {
        // Offline for a moment: keep the last numbers, try again at the next tick.
      }
    }

    function schedule() {
      clearTimeout(timer);
      timer = null;
      if (document.hidden) return;
      timer = setTimeout(function () {
        refresh().then(schedule);
      }, seconds * 1000);
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        clearTimeout(timer);
        timer = null;
      } else {
        refresh().then(schedule);
      }
    });
    announce(Number(section.querySelector("[data-total-bar]").getAttribute("value")) || 0);
    schedule();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
