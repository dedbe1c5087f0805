// Web chat client: keeps its session id in localStorage, sends JSON, receives over long-poll.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const notice = document.getElementById("notice");
  const KEY = "jongerenloket.session";
  let sessionId = localStorage.getItem(KEY);
  let cursor = 0;
  let polling = false;

  function showNotice(text) { notice.textContent = text; notice.hidden = !text; }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, c => {
      const r = Math.random() * 16 | 0; return (c === "x" ? r : (r & 0x3 | 0x8)).toString(16);
    });
  }

  function linkify(parent, text) {
    // Text only: never innerHTML, so nothing in a message can run as code.
    parent.appendChild(document.createTextNode(text));
  }

  function render(m) {
    const el = document.createElement("div");
    el.className = "msg " + m.direction + (m.sender === "coach" ? " coach" : "");
    if (m.direction === "out") {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = m.sender === "coach" ? "Medewerker" : "Jongerenloket";
      el.appendChild(who);
    }
    linkify(el, m.text);
    for (const l of m.links || []) {
      const a = document.createElement("a");
      a.href = l.url; a.textContent = l.title; a.rel = "noopener"; a.target = "_blank";
      el.appendChild(document.createElement("br")); el.appendChild(a);
    }
    if ((m.buttons || []).length) {
      const box = document.createElement("div");
      box.className = "buttons";
      for (const b of m.buttons) {
        const btn = document.createElement("button");
        btn.type = "button"; btn.textContent = b.title;
        btn.addEventListener("click", () => {
          box.querySelectorAll("button").forEach(x => x.disabled = true);
          send(b.title, b.payload);
        });
        box.appendChild(btn);
      }
      el.appendChild(box);
    }
    log.appendChild(el);
    log.scrollTop = log.scrollHeight;
  }

  async function newSession() {
    const r = await fetch("/chat/api/sessions", { method: "POST" });
    if (!r.ok) throw new Error("session");
    sessionId = (await r.json()).session_id;
    localStorage.setItem(KEY, sessionId);
    cursor = 0;
  }

  async function poll() {
    if (polling) return;
    polling = true;
    while (true) {
      try {
        const r = await fetch(`/chat/api/sessions/${sessionId}/messages?after=${cursor}&wait=25`);
        if (r.status === 404) { await newSession(); continue; }
        if (!r.ok) throw new Error("poll");
        const data = await r.json();
        for (const m of data.messages) { if (m.id > cursor) { render(m); cursor = m.id; } }
        showNotice("");
      } catch (e) {
        showNotice("Geen verbinding. We proberen het opnieuw…");
        await new Promise(res => setTimeout(res, 3000));
      }
    }
  }

  async function send(text, payload) {
    const body = { text: text, client_message_id: uuid() };
    if (payload) body.payload = payload;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const r = await fetch(`/chat/api/sessions/${sessionId}/messages`, {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
        if (r.status === 404) { await newSession(); continue; }
        if (r.ok) { showNotice(""); return true; }
      } catch (e) { /* retry below */ }
      await new Promise(res => setTimeout(res, 1000 * (attempt + 1)));
    }
    showNotice("Je bericht is niet verstuurd. Probeer het nog eens.");
    return false;
  }

  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) { input.focus(); return; }
    input.value = "";
    if (!(await send(text))) input.value = text;
    input.focus();
  });
  input.addEventListener("keydown", ev => {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });

  (async function start() {
    try { if (!sessionId) await newSession(); } catch (e) { showNotice("Geen verbinding. Ververs de pagina."); }
    poll();
  })();
})();
