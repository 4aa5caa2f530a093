// The receipt's Copy, Save and Print buttons, and the share step after signing. They need
// JavaScript, so the page renders them hidden and this script shows them. Nothing here talks
// to another site: the share step is a mailto: link, a link to copy and the browser's own
// share sheet (Web Share API) where there is one. No inline script (CSP script-src 'self').
(function () {
  "use strict";

  // The clipboard API, else the old way: select a text box and copy.
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (e) {
      var box = document.createElement("textarea");
      box.value = text;
      box.setAttribute("readonly", "");
      box.className = "govuk-visually-hidden";
      document.body.appendChild(box);
      box.select();
      var done = false;
      try { done = document.execCommand("copy"); } catch (ignored) { done = false; }
      box.remove();
      return done;
    }
  }

  function confirmIn(element, text) {
    if (!element) return;
    element.textContent = "";
    // A fresh text, so that a screen reader hears it again after a second press.
    window.setTimeout(function () { element.textContent = text; }, 50);
  }

  function download(name, text) {
    var blob = new Blob([text], { type: "text/plain;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
  }

  function receiptActions(box) {
    var data = box.dataset;
    var said = box.querySelector("[data-said]");
    function receipt() { return data.receipt || ""; }
    box.querySelector('[data-action="copy"]').addEventListener("click", async function () {
      confirmIn(said, (await copyText(receipt())) ? data.copied : data.notCopied);
    });
    box.querySelector('[data-action="save"]').addEventListener("click", function () {
      // The receipt, the initiative and where to check it: nothing about the signatory.
      var lines = [
        data.fileHeading,
        "",
        data.labelInitiative + " " + data.title,
        data.labelReceipt + " " + receipt(),
        data.labelCheck + " " + data.checkUrl,
        ""
      ];
      download(data.fileName, lines.join("\r\n"));
      confirmIn(said, data.saved);
    });
    box.querySelector('[data-action="print"]').addEventListener("click", function () {
      window.print();
    });
    box.hidden = !receipt();
    // On the check page a receipt checked without a reload becomes the one to keep.
    document.addEventListener("quorum:receipt", function (event) {
      data.receipt = event.detail;
      data.checkUrl = data.checkUrl.split("?")[0] + "?receipt=" + event.detail;
      box.hidden = false;
    });
  }

  function shareStep(box) {
    var data = box.dataset;
    var said = box.querySelector("[data-said]");
    var actions = box.querySelector("[data-share-actions]");
    var share = box.querySelector('[data-action="share"]');
    var payload = { title: data.title, text: data.text, url: data.url };
    if (navigator.share && (!navigator.canShare || navigator.canShare(payload))) {
      share.hidden = false;
      share.addEventListener("click", function () {
        navigator.share(payload).catch(function () { /* closed by the person: nothing to say */ });
      });
    }
    box.querySelector('[data-action="copy-link"]').addEventListener("click", async function () {
      confirmIn(said, (await copyText(data.url)) ? data.copied : data.notCopied);
    });
    if (actions) actions.hidden = false;
  }

  function start() {
    document.querySelectorAll("[data-receipt-actions]").forEach(receiptActions);
    document.querySelectorAll("[data-share]").forEach(shareStep);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
