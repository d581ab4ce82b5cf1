// Live pages (issue 29): the queue refreshes its rows, an open ticket its facts,
// from the gateway's Server-Sent Events; nothing typed is touched. Without this
// script (or EventSource) the pages work as before, by reloading.
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root || !window.EventSource || !window.fetch) {
    return;
  }
  var ticket = root.getAttribute("data-ticket");
  var waiting = null;

  function refresh(url, target) {
    if (!url || !target) {
      return;
    }
    fetch(url, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (html !== null) {
          target.innerHTML = html;
        }
      })
      .catch(function () {});
  }

  function onTicket(change) {
    if (change.ticket_id !== ticket) {
      return;
    }
    refresh(root.getAttribute("data-facts"), document.getElementById("facts"));
    var notice = document.getElementById("live-notice");
    if (notice) {
      var reply = change.kind === "TicketMessageAdded";
      notice.querySelector(".what").textContent =
        notice.getAttribute(reply ? "data-new-reply" : "data-changed");
      notice.hidden = false;
    }
  }

  function onQueue() {
    // A burst of events (a batch of one submit) refreshes the rows once.
    clearTimeout(waiting);
    waiting = setTimeout(function () {
      refresh(root.getAttribute("data-rows"), document.getElementById("queue-rows"));
    }, 150);
  }

  // "Show" brings in the new timeline in place: what is being typed stays.
  var show = document.getElementById("live-show");
  if (show) {
    show.addEventListener("click", function (event) {
      var timeline = document.getElementById("timeline");
      event.preventDefault();
      refresh(timeline.getAttribute("data-timeline"), timeline);
      document.getElementById("live-notice").hidden = true;
    });
  }

  var source = new EventSource(root.getAttribute("data-live"));
  source.addEventListener("ticket", function (event) {
    var change = JSON.parse(event.data);
    if (ticket) {
      onTicket(change);
    } else {
      onQueue();
    }
  });
})();
