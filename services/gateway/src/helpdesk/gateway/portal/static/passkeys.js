// Passkeys in the portal (docs/sso.md, "Passkeys"): the browser's WebAuthn with the
// options identity made. A button `data-passkey="create"` adds one (account page),
// `data-passkey="get"` signs in with one (login page; with `data-second-step`, a
// password sign-in's second step); each posts the
// form's CSRF token, and shows its status element when the browser or the
// helpdesk says no.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
    return; // the buttons stay hidden: this browser has no passkeys to offer
  }

  async function post(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(fields),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const answer = await response.json();
    if (!response.ok) {
      throw new Error(answer.error || String(response.status));
    }
    return answer;
  }

  function bind(button) {
    const create = button.dataset.passkey === "create";
    const status = document.getElementById(button.dataset.status);
    button.hidden = false;
    button.addEventListener("click", async function () {
      const csrf = {};
      csrf[button.dataset.csrfField] = button.dataset.csrfToken;
      if (button.dataset.secondStep) {
        csrf.second_step = "1"; // the sign-in under way: its challenge cookie's account
      }
      try {
        const started = await post(button.dataset.options, csrf);
        const credential = create
          ? await navigator.credentials.create({
              publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(started.options),
            })
          : await navigator.credentials.get({
              publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(started.options),
            });
        const done = await post(
          button.dataset.finish,
          Object.assign({}, csrf, {
            ceremony: started.ceremony,
            credential: JSON.stringify(credential.toJSON()),
          })
        );
        window.location.assign(done.next);
      } catch (error) {
        if (status) {
          status.hidden = false;
        }
      }
    });
  }

  document.querySelectorAll("button[data-passkey]").forEach(bind);
})();
