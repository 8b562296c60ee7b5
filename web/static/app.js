// Live region over server-sent events, and token-gated actions. The token is asked once
// per browser session and kept in sessionStorage: never in a URL, never sent but as the
// Authorization header of a control request.
(function () {
  "use strict";
  const body = document.body;
  const page = body.dataset.page;
  const query = body.dataset.query;
  const live = document.getElementById("live");
  const region = document.getElementById("region");
  const toast = document.getElementById("toast");
  const KEY = "alpha-panda-token";

  function say(text, bad) {
    toast.textContent = text;
    toast.className = bad ? "toast bad" : "toast";
    toast.hidden = false;
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { toast.hidden = true; }, 6000);
  }

  function connect() {
    const src = new EventSource("/events/" + page + (query ? "?" + query : ""));
    src.addEventListener("region", (e) => {
      region.innerHTML = e.data;
      body.dataset.updated = String(Date.now());
    });
    src.onopen = () => { live.textContent = "live"; live.className = "live on"; };
    src.onerror = () => { live.textContent = "reconnecting"; live.className = "live off"; };
  }

  function token(ask) {
    let t = sessionStorage.getItem(KEY);
    if ((!t || ask) && body.dataset.control === "on") {
      t = window.prompt("API token (ALPHA_PANDA_API_TOKEN) for control actions in this session:");
      if (t) { sessionStorage.setItem(KEY, t.trim()); t = t.trim(); }
    }
    updateTokenButton();
    return t;
  }

  function updateTokenButton() {
    const b = document.getElementById("token-button");
    if (b) b.textContent = sessionStorage.getItem(KEY) ? "token set · forget" : "enter token";
  }

  async function act(button) {
    if (body.dataset.control !== "on") {
      say(document.getElementById("control-disabled").textContent, true);
      return;
    }
    const action = button.dataset.action;
    let url;
    if (action === "redrive") url = "/api/v1/dlq/" + button.dataset.seq + "/redrive";
    else if (action === "restart") url = "/api/v1/actors/" + encodeURIComponent(button.dataset.actor) + "/restart";
    else if (button.dataset.broker) url = "/api/v1/brokers/" + button.dataset.broker + "/" + action;
    else url = "/api/v1/" + action;
    const t = token(false);
    if (!t) { say("no token entered", true); return; }
    const r = await fetch(url, {
      method: "POST",
      headers: { "Authorization": "Bearer " + t, "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "from the " + page + " page" }),
    });
    let answer = {};
    try { answer = await r.json(); } catch (e) { /* not JSON */ }
    if (r.status === 401) sessionStorage.removeItem(KEY);
    updateTokenButton();
    if (r.ok) say(action + " " + (answer.actor || answer.broker || answer.subject || "") + ": done (" + (answer.id || answer.seq || "") + ")");
    else say(action + " refused (" + r.status + "): " + (answer.error || r.statusText), true);
  }

  document.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (b) { e.preventDefault(); act(b); return; }
    if (e.target.id === "token-button") {
      if (sessionStorage.getItem(KEY)) { sessionStorage.removeItem(KEY); updateTokenButton(); }
      else token(true);
    }
  });
  updateTokenButton();
  connect();
})();
