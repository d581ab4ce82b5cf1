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

  // Presence (agents): a beat now and every 10 s says the page is open, and whether
  // a reply is being typed; the answer names the colleagues on the same ticket.
  var presence = root.getAttribute("data-presence");
  if (presence) {
    var body = document.getElementById("f-body");
    var beat = function () {
      var form = new URLSearchParams();
      form.set(root.getAttribute("data-csrf-field"), root.getAttribute("data-csrf-token"));
      form.set("doing", body && body.value.trim() ? "replying" : "viewing");
      fetch(presence, { method: "POST", credentials: "same-origin", body: form })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (html !== null) {
            document.getElementById("presence").innerHTML = html;
          }
        })
        .catch(function () {});
    };
    beat();
    setInterval(beat, 10000);
    if (body) {
      var typing = null;
      body.addEventListener("input", function () {
        clearTimeout(typing);
        typing = setTimeout(beat, 500); // "replying" as soon as typing starts
      });
    }
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
