/* TichWatch portal widget loader, served at /widget.js. One line on the portal's page:
 *   <script src="https://<service>/widget.js" data-lang="vi" async></script>
 * Optional: data-theme="light|dark", data-stations="id1,id2", data-target="<id of the element to put it in>",
 * data-height="<first height in px>". It puts an iframe of <service>/widget after itself (or into data-target) and
 * sets the iframe's height from the messages the widget posts, checking that they come from that iframe and from the
 * service's origin. It touches nothing else on the page: no global, no style sheet, no cookie. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src).origin;
  var TITLES = __TITLES__;
  var HEIGHT_MESSAGE = "tichwatch-widget:height";
  var data = script.dataset;
  var query = new URLSearchParams();
  ["lang", "theme", "stations"].forEach(function (key) { if (data[key]) query.set(key, data[key].slice(0, 256)); });
  var frame = document.createElement("iframe");
  frame.src = origin + "/widget" + (query.toString() ? "?" + query.toString() : "");
  frame.title = TITLES[data.lang === "en" ? "en" : "vi"];
  frame.loading = "lazy";
  frame.referrerPolicy = "no-referrer";
  // The widget needs its scripts and its own origin (to read the service's API); links open in a new tab.
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox");
  frame.setAttribute("scrolling", "no"); // sized to its content below: a scroll bar would only flicker while it grows
  frame.style.display = "block";
  frame.style.border = "0";
  frame.style.width = "100%";
  frame.style.maxWidth = "100%";
  frame.style.height = (parseInt(data.height, 10) > 0 ? Math.min(parseInt(data.height, 10), 4000) : 420) + "px";
  var target = data.target ? document.getElementById(data.target) : null;
  if (target) target.appendChild(frame);
  else if (document.body && document.body.contains(script)) script.parentNode.insertBefore(frame, script.nextSibling);
  else document.body.appendChild(frame);
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var message = event.data;
    if (!message || message.type !== HEIGHT_MESSAGE || typeof message.height !== "number" || !isFinite(message.height)) return;
    frame.style.height = Math.min(Math.max(Math.ceil(message.height), 60), 4000) + "px";
  });
})();
