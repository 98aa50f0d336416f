// SafeStep console: the only script (the CSP allows no other). Polls fragments, raises urgent
// alerts and supervisors' overdue-case alerts (tab title, desktop notification, opt-in sound),
// keeps reply drafts, fills canned replies, sends on Ctrl+Enter and sends the browser's time
// zone with the snooze form.
"use strict";

// Elements with data-poll="URL" are replaced by the server's fragment every data-poll-ms.
// A redirect (logged out) reloads the page, which shows the login. A refusal (the case was
// reassigned) stops the polling without a reload, so nothing typed on the page is lost.
function poll(element) {
  const every = Number(element.dataset.pollMs) || 3000;
  let last = element.innerHTML;
  async function refresh() {
    try {
      const response = await fetch(element.dataset.poll, { credentials: "same-origin", cache: "no-store" });
      if (response.redirected) {
        window.location.reload();
        return;
      }
      if (response.status === 403 || response.status === 404) {
        return;
      }
      if (response.ok) {
        const html = await response.text();
        if (html !== last) {
          element.innerHTML = html;
          last = html;
        }
      }
    } catch (error) {
      // Network hiccup: try again at the next tick.
    }
    window.setTimeout(refresh, every);
  }
  window.setTimeout(refresh, every);
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (response.redirected) {
    window.location.reload();
    return null;
  }
  return response.ok ? response.json() : null;
}

// ---- urgent alerts ------------------------------------------------------------------------

const baseTitle = document.title;
const ALERTED = "safestep.alerted"; // case ids this tab already announced
const OVERDUE = "safestep.overdue"; // supervisor alert ids this tab already announced
const SOUND = "safestep.sound"; // "on" when the staff member opted in to the sound

function beep() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) {
    return;
  }
  const audio = new Context();
  const tone = audio.createOscillator();
  const volume = audio.createGain();
  tone.frequency.value = 880;
  volume.gain.setValueAtTime(0.2, audio.currentTime);
  volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
  tone.connect(volume).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.6);
}

// One desktop notification (and the sound), opening case `first` when clicked.
function announce(first, text) {
  if ("Notification" in window && Notification.permission === "granted") {
    const note = new Notification(text, { body: "SafeStep: someone needs help now.", tag: `safestep-${first}` });
    note.addEventListener("click", () => {
      window.focus();
      window.location.href = `/console/cases/${first}`;
    });
  }
  if (localStorage.getItem(SOUND) === "on") {
    beep();
  }
}

// The ids this tab has not announced yet (remembered under `key`, so a reload stays quiet).
function unseen(key, ids) {
  const seen = new Set(JSON.parse(sessionStorage.getItem(key) || "[]"));
  const fresh = ids.filter((id) => !seen.has(id));
  fresh.forEach((id) => seen.add(id));
  sessionStorage.setItem(key, JSON.stringify([...seen].slice(-500)));
  return fresh;
}

function showCount(count) {
  const badge = document.getElementById("alert-count");
  document.title = count ? `(${count}) ${baseTitle}` : baseTitle;
  if (badge) {
    badge.hidden = !count;
    badge.textContent = count ? `${count} urgent waiting` : "";
  }
}

function watchUrgent(body) {
  const every = Number(body.dataset.pollMs) || 3000;
  async function check() {
    try {
      const state = await getJSON(body.dataset.alerts);
      if (state) {
        showCount(state.urgent.length);
        const fresh = unseen(ALERTED, state.urgent);
        if (fresh.length) {
          announce(fresh[0], fresh.length === 1 ? `Urgent case #${fresh[0]} is waiting` : `${fresh.length} new urgent cases are waiting`);
        }
        // Supervisors: [alert id, case id] of urgent cases nobody answered in time.
        const overdue = new Map(state.alerts || []);
        const raised = unseen(OVERDUE, [...overdue.keys()]);
        if (raised.length) {
          announce(overdue.get(raised[0]), `Urgent case #${overdue.get(raised[0])} has had no reply for too long`);
        }
      }
    } catch (error) {
      // Try again at the next tick.
    }
    window.setTimeout(check, every);
  }
  check();
}

function alertControls() {
  const sound = document.getElementById("alert-sound");
  if (sound) {
    sound.checked = localStorage.getItem(SOUND) === "on";
    sound.addEventListener("change", () => {
      localStorage.setItem(SOUND, sound.checked ? "on" : "off");
      if (sound.checked) {
        beep(); // also unlocks audio, which browsers allow only after a click
      }
    });
  }
  const desktop = document.getElementById("alert-desktop");
  if (desktop && "Notification" in window && Notification.permission === "default") {
    desktop.hidden = false;
    desktop.addEventListener("click", async () => {
      await Notification.requestPermission();
      desktop.hidden = Notification.permission !== "default";
    });
  }
}

// ---- the case page ------------------------------------------------------------------------

// The reply being typed is kept per case in this tab, so a reload, a refused send or a
// reassignment does not lose it.
function keepDraft(form) {
  const key = `safestep.draft.${form.dataset.draft}`;
  const text = form.querySelector("textarea");
  if (!text.value) {
    text.value = sessionStorage.getItem(key) || "";
  }
  text.addEventListener("input", () => sessionStorage.setItem(key, text.value));
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", () => sessionStorage.removeItem(key));
}

// Tells the agent at once when the case they hold is given to someone else.
function watchHolder(holder) {
  const every = Number(holder.dataset.pollMs) || 3000;
  let mine = holder.dataset.mine === "true";
  async function check() {
    try {
      const state = await getJSON(holder.dataset.state);
      if (state) {
        if (mine && !state.mine) {
          const notice = document.getElementById("reassigned");
          const who = state.assignee || "nobody (back in the queue)";
          notice.textContent = `This case was reassigned to ${who}. Nothing you typed was sent; your draft stays below so you can copy it.`;
          notice.hidden = false;
          if (!state.allowed) {
            document.querySelectorAll("form:not(.who) button[type=submit]").forEach((b) => { b.disabled = true; });
          }
        }
        holder.querySelector("strong").textContent = state.assignee || "nobody";
        mine = state.mine;
      }
    } catch (error) {
      // Try again at the next tick.
    }
    window.setTimeout(check, every);
  }
  window.setTimeout(check, every);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(poll);
  if (document.body.dataset.alerts) {
    alertControls();
    watchUrgent(document.body);
  }
  document.querySelectorAll("form[data-draft]").forEach(keepDraft);
  const holder = document.getElementById("case-state");
  if (holder) {
    watchHolder(holder);
  }
  // The offset at the chosen time itself (summer time may differ from now).
  document.querySelectorAll("input[data-tz-offset]").forEach((offset) => {
    const until = offset.form.elements.namedItem("until");
    offset.form.addEventListener("submit", () => {
      const moment = until && until.value ? new Date(until.value) : new Date();
      offset.value = String(moment.getTimezoneOffset());
    });
  });
  document.querySelectorAll("button[data-fill]").forEach((button) => {
    button.addEventListener("click", () => {
      const target = document.getElementById(button.dataset.fill);
      target.value = button.dataset.text;
      target.dispatchEvent(new Event("input"));
      target.focus();
    });
  });
});
