/* Coach console: live refresh of the inbox and of an open ticket over server-sent events. */
(function () {
  "use strict";

  function refresh(box) {
    return fetch(box.getAttribute("data-src") + window.location.search, {
      credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (response.status === 401) { window.location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null && html !== undefined) { box.innerHTML = html; }
      return html;
    });
  }

  function announce(id, text) {
    var region = document.getElementById(id);
    if (region) { region.textContent = ""; window.setTimeout(function () { region.textContent = text; }, 50); }
  }

  function openCount(box) {
    var counter = box.querySelector("[data-open-count]");
    return counter ? parseInt(counter.getAttribute("data-open-count"), 10) : 0;
  }

  var inbox = document.querySelector("[data-live-inbox]");
  var ticket = document.querySelector("[data-live-ticket]");
  if ((inbox || ticket) && window.EventSource) {
    var url = "/console/events?" + (ticket
      ? "ticket=" + encodeURIComponent(ticket.getAttribute("data-live-ticket")) +
        "&stamp=" + encodeURIComponent(ticket.getAttribute("data-stamp") || "")
      : "inbox=" + encodeURIComponent(inbox.getAttribute("data-stamp") || ""));
    var source = new EventSource(url);
    source.addEventListener("inbox", function () {
      if (!inbox) { return; }
      var before = openCount(inbox);
      refresh(inbox).then(function () {
        var after = openCount(inbox);
        if (after > before) { announce("inbox-announce", "Er is een nieuwe chat in de inbox."); }
      });
    });
    source.addEventListener("ticket", function () {
      if (!ticket) { return; }
      var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
      refresh(ticket).then(function () {
        announce("ticket-announce", "Het gesprek is bijgewerkt.");
        if (atBottom) { ticket.scrollIntoView({ block: "end" }); }
      });
    });
    source.addEventListener("logout", function () { source.close(); window.location.reload(); });
    document.documentElement.setAttribute("data-live", "on");
    source.addEventListener("ready", function () { document.documentElement.setAttribute("data-live", "ready"); });
  }

  // Standaardantwoorden: choosing one puts its text in the reply box (without JS, "Gebruik" reloads the page).
  var pickers = document.querySelectorAll("[data-snippet-picker]");
  Array.prototype.forEach.call(pickers, function (picker) {
    var select = picker.querySelector("select");
    var target = document.getElementById(picker.getAttribute("data-target"));
    if (!select || !target) { return; }
    function use() {
      var option = select.options[select.selectedIndex];
      if (!option || !option.value) { return; }
      target.value = option.getAttribute("data-text") || "";
      target.focus();
    }
    select.addEventListener("change", use);
    picker.addEventListener("submit", function (event) { event.preventDefault(); use(); });
  });

  // One click sends once: disable the button after the browser has taken the form's values.
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }
    var button = event.target.querySelector("button[type=submit]");
    if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
  });
})();
