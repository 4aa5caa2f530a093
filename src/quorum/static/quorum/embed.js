// The signing form inside a campaign's iframe: tell the parent page how high the form is, so
// that the frame fits without a scroll bar, and open every link outside the frame (the other
// pages of the site may not be framed). The message carries only a height, so any parent may
// read it: {type: "quorum:height", height: <CSS pixels>}.
(function () {
  "use strict";
  if (window.parent === window) return;

  var last = 0;
  function tell() {
    // The body's own height: the document's would never shrink below the frame's.
    var box = document.body.getBoundingClientRect();
    var height = Math.ceil(box.bottom + window.scrollY);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "quorum:height", height: height }, "*");
  }

  function outward(root) {
    var links = root.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute("href");
      if (href.charAt(0) === "#") continue;
      links[i].setAttribute("target", "_blank");
      links[i].setAttribute("rel", "noopener");
    }
  }

  outward(document);
  tell();
  if (window.ResizeObserver) new ResizeObserver(tell).observe(document.body);
  new MutationObserver(function () { outward(document); tell(); })
    .observe(document.body, { childList: true, subtree: true });
  window.addEventListener("load", tell);
})();
