// Keeps the initiative page's counts section live: every data-interval seconds (at least one)
// it reads the public counts API and updates numbers and bars in place. Nothing is announced on
// each tick; a polite live region repeats the total at most every 10 s, and only when it
// changed. Paused while the tab is hidden. No dependencies, no inline script (CSP).
// The map and the chart are drawn by the server only: when the total has moved past what they
// show, at most every 30 s, the initiative page (data-pictures-url, a cached copy for every
// watcher) is read again and its newer drawings replace these ([data-picture]).
(function () {
  "use strict";

  var ANNOUNCE_EVERY_MS = 10000;
  var PICTURES_EVERY_MS = 30000;

  // The total a counts section was rendered with: its bar's value.
  function shownTotal(section) {
    var bar = section.querySelector("[data-total-bar]");
    return bar ? Number(bar.getAttribute("value")) || 0 : 0;
  }

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
    var picturesUrl = section.getAttribute("data-pictures-url");
    var drawnTotal = shownTotal(section), picturesAt = Date.now(), drawing = false;

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
      if (data.total !== drawnTotal) redraw();
    }

    // The server's newer drawings in place of these: the parts that change ([data-redrawn],
    // none of them focusable), so that focus and an opened "Show the numbers" stay as they are.
    // A picture that was not drawn yet (the chart before the first checkpoint) comes whole,
    // unless the reader's focus is inside what it replaces.
    function swap(here, there) {
      var mine = here.querySelectorAll("[data-redrawn]");
      var theirs = there.querySelectorAll("[data-redrawn]");
      var same = mine.length === theirs.length && Array.prototype.every.call(mine, function (part, i) {
        return part.getAttribute("data-redrawn") === theirs[i].getAttribute("data-redrawn");
      });
      if (same) {
        mine.forEach(function (part, i) { part.replaceWith(document.importNode(theirs[i], true)); });
      } else if (!here.contains(document.activeElement)) {
        here.replaceChildren.apply(here, Array.prototype.map.call(there.childNodes, function (node) {
          return document.importNode(node, true);
        }));
      }
    }

    async function redraw() {
      var now = Date.now();
      if (!picturesUrl || !window.DOMParser || drawing || now - picturesAt < PICTURES_EVERY_MS) return;
      drawing = true;
      picturesAt = now;
      try {
        var response = await fetch(picturesUrl, { credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!response.ok) return;
        var page = new DOMParser().parseFromString(await response.text(), "text/html");
        var other = page.querySelector("[data-counts-url]");
        if (!other || page.documentElement.lang !== document.documentElement.lang) return;
        section.querySelectorAll("[data-picture]").forEach(function (here) {
          var there = other.querySelector('[data-picture="' + here.getAttribute("data-picture") + '"]');
          if (there) swap(here, there);
        });
        drawnTotal = shownTotal(other);
      } catch (e) {
        // Offline for a moment: keep the drawings there are, try again later.
      } finally {
        drawing = false;
      }
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
    announce(drawnTotal);
    schedule();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
