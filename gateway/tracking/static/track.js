// The tracking page: look a birth up, then follow it live.
//
// The code and the verification stay in this script's memory: they travel in
// the X-Verification header of a fetch() of the server-sent events (EventSource
// cannot send headers), never in the page's address, never in storage. Only
// the language choice is remembered (localStorage).
(function () {
  "use strict";

  var TEXTS = JSON.parse(document.getElementById("texts").textContent);
  var LANG_KEY = "birthlink.lang";
  var MAX_BACKOFF_MS = 15000;
  var CODE = /^[2-9A-HJ-KM-NP-Z]{4}-?[2-9A-HJ-KM-NP-Z]{4}-?[2-9A-HJ-KM-NP-Z]{4}$/;

  var lang = readLang();
  var view = null; // the last view received
  var message = null; // the form's current message: [key, values]
  var follow = null; // the current subscription

  var $ = function (id) { return document.getElementById(id); };

  function readLang() {
    try {
      return window.localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
    } catch (e) {
      return "zh";
    }
  }

  function tr(key, values) {
    var text = TEXTS[key][lang];
    Object.keys(values || {}).forEach(function (name) {
      text = text.replace("{" + name + "}", values[name]);
    });
    return text;
  }

  function pick(text) {
    return text ? text[lang] : "";
  }

  // Language ---------------------------------------------------------------

  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach(function (el) {
      el.textContent = tr(el.getAttribute("data-i18n"));
    });
    var other = lang === "zh" ? "en" : "zh-CN";
    var button = $("lang-switch");
    button.textContent = tr("switch");
    button.setAttribute("lang", other);
    button.setAttribute("aria-label", tr("switch_label"));
    showMessage(message);
    if (view) render(view);
    if (follow && !follow.online) showConnection(false);
  }

  $("lang-switch").addEventListener("click", function () {
    lang = lang === "zh" ? "en" : "zh";
    try {
      window.localStorage.setItem(LANG_KEY, lang);
    } catch (e) { /* private mode: the choice lasts this visit */ }
    applyLang();
  });

  // The form ----------------------------------------------------------------

  function fieldError(id, key) {
    var input = $(id);
    var error = $(id + "-error");
    error.hidden = !key;
    error.textContent = key ? tr(key) : "";
    if (key) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    return !key;
  }

  // The wait of a 429 (Retry-After, seconds) in the words parents read: minutes past 90 s.
  function tooMany(retryAfter) {
    var seconds = parseInt(retryAfter, 10) || 60;
    return seconds > 90 ? ["too_many_minutes", { minutes: String(Math.ceil(seconds / 60)) }]
      : ["too_many", { seconds: String(seconds) }];
  }

  function showMessage(msg) {
    message = msg;
    var box = $("form-error");
    box.hidden = !msg;
    box.textContent = msg ? tr(msg[0], msg[1]) : "";
  }

  $("lookup").addEventListener("submit", function (event) {
    event.preventDefault();
    var code = $("code").value.trim().toUpperCase().replace(/\s+/g, "");
    var verification = $("verification").value.trim().toUpperCase();
    var ok = fieldError("code", !code ? "required" : CODE.test(code) ? null : "code_format");
    ok = fieldError("verification", !verification ? "required"
      : verification.length === 6 ? null : "verification_format") && ok;
    if (!ok) {
      $(!CODE.test(code) ? "code" : "verification").focus();
      return;
    }
    showMessage(null);
    start(code, verification);
  });

  $("again").addEventListener("click", function () {
    if (follow) follow.stop();
    follow = null;
    view = null;
    $("result").hidden = true;
    $("lookup").hidden = false;
    $("lookup").reset();
    $("code").focus();
  });

  // Following a birth --------------------------------------------------------

  function start(code, verification) {
    if (follow) follow.stop();
    var sub = {
      code: code,
      verification: verification,
      lastId: null,
      failures: 0,
      online: true,
      first: true,
      controller: null,
      timer: null,
      stop: function () {
        sub.stopped = true;
        clearTimeout(sub.timer);
        if (sub.controller) sub.controller.abort();
      }
    };
    follow = sub;
    connect(sub);
  }

  function connect(sub) {
    if (sub.stopped) return;
    sub.controller = new AbortController();
    var headers = { "Accept": "text/event-stream", "X-Verification": sub.verification };
    if (sub.lastId) headers["Last-Event-ID"] = sub.lastId;
    fetch("/v1/track/" + encodeURIComponent(sub.code) + "/events", {
      headers: headers,
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      signal: sub.controller.signal
    }).then(function (response) {
      if (response.status === 404 || response.status === 429) {
        sub.stop();
        follow = null;
        view = null;
        $("result").hidden = true;
        $("lookup").hidden = false;
        showMessage(response.status === 404 ? ["not_found"]
          : tooMany(response.headers.get("Retry-After")));
        $("code").focus();
        return null;
      }
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      return read(sub, response.body.getReader());
    }).then(function (ended) {
      // The server ends a stream after a while: reconnect at once.
      if (ended) reconnect(sub, true);
    }, function () {
      if (!sub.stopped) reconnect(sub, false);
    });
  }

  function read(sub, reader) {
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return true;
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
        var end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          dispatch(sub, buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        return pump();
      });
    }
    return pump();
  }

  function dispatch(sub, block) {
    var name = "message";
    var data = [];
    var id = null;
    block.split("\n").forEach(function (line) {
      var colon = line.indexOf(":");
      if (colon === 0) return; // a comment: the server is still there
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") name = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    });
    if (sub.stopped) return;
    setOnline(sub, true);
    if (id !== null) sub.lastId = id;
    if (name === "update" && data.length) update(JSON.parse(data.join("\n")), sub);
  }

  function reconnect(sub, cleanly) {
    if (sub.stopped) return;
    var delay = 0;
    if (!cleanly) {
      setOnline(sub, false);
      delay = Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, sub.failures));
      sub.failures += 1;
    }
    sub.timer = setTimeout(function () { connect(sub); }, delay);
  }

  function setOnline(sub, online) {
    if (online) sub.failures = 0;
    if (sub.online === online) return;
    sub.online = online;
    showConnection(online);
  }

  function showConnection(online) {
    var box = $("connection");
    box.hidden = online;
    box.textContent = online ? "" : tr("offline_banner");
  }

  window.addEventListener("offline", function () {
    if (follow) setOnline(follow, false);
  });
  window.addEventListener("online", function () {
    if (follow && !follow.online) {
      clearTimeout(follow.timer);
      if (follow.controller) follow.controller.abort();
      follow.timer = setTimeout(function () { connect(follow); }, 0);
    }
  });

  // Showing a view -----------------------------------------------------------

  function update(next, sub) {
    var before = {};
    (view ? view.steps : []).forEach(function (s) { before[s.step] = s.state; });
    var changed = next.steps.filter(function (s) { return view && before[s.step] !== s.state; });
    view = next;
    render(view);
    $("result").hidden = false;
    if (sub.first) {
      sub.first = false;
      $("lookup").hidden = true; // out of the way (and the verification out of sight)
      $("summary").focus();
    } else if (changed.length) {
      // Say what changed: the screen reader hears it without moving focus.
      $("announce").textContent = changed.map(function (s) {
        return pick(s.title) + ": " + pick(s.state_text);
      }).join("; ") + ". " + pick(view.summary);
    }
  }

  var TONE = {
    completed: "done", skipped: "quiet", cancelled: "quiet", compensated: "quiet",
    rejected: "action", offline: "action", failed: "problem", retrying: "problem",
    waiting: "waiting", awaiting_parents: "action", not_applicable: "quiet"
  };

  function formatTime(iso) {
    return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
    }).format(new Date(iso));
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(v) {
    var tone = v.all_done ? "done" : v.steps.some(function (s) { return s.needs_parents; })
      ? "action" : "progress";
    var summary = $("summary");
    summary.className = "summary summary-" + tone;
    summary.replaceChildren(
      el("p", "summary-status", (v.all_done ? "✓ " : "") + pick(v.status_text)),
      el("p", "summary-text", pick(v.summary)),
      el("p", "summary-code", tr("code_label") + " " + v.tracking_code)
    );
    var items = v.steps.map(function (s, index) {
      var item = el("li", "step step-" + (TONE[s.state] || "progress"));
      item.setAttribute("data-step", s.step);
      item.setAttribute("data-state", s.state);
      item.appendChild(el("span", "marker", String(index + 1))).setAttribute("aria-hidden", "true");
      var body = item.appendChild(el("div", "step-body"));
      body.appendChild(el("h3", "step-title", pick(s.title)));
      var line = body.appendChild(el("p", "step-state"));
      line.appendChild(el("span", "badge", pick(s.state_text)));
      if (s.state !== "waiting") {
        var time = line.appendChild(el("time", "step-time", formatTime(s.updated_at)));
        time.setAttribute("datetime", s.updated_at);
      }
      if (s.documents.length) {
        var docs = body.appendChild(el("dl", "docs"));
        s.documents.forEach(function (d) {
          var row = docs.appendChild(el("div", "doc"));
          row.appendChild(el("dt", null, pick(d.label)));
          row.appendChild(el("dd", "doc-value", d.value));
        });
      }
      if (s.deadline && !s.instruction) {
        body.appendChild(el("p", "deadline", tr("deadline") + " " + s.deadline));
      }
      if (s.instruction) {
        var note = body.appendChild(el("p", "instruction", pick(s.instruction)));
        note.setAttribute("role", "note");
      }
      if (s.benefit) renderBenefit(body, s);
      return item;
    });
    $("timeline").replaceChildren.apply($("timeline"), items);
  }

  // Benefits -------------------------------------------------------------------

  function renderBenefit(body, s) {
    var b = s.benefit;
    if (b.programmes.length) {
      var list = body.appendChild(el("ul", "programmes"));
      b.programmes.forEach(function (p) {
        var row = list.appendChild(el("li", "programme programme-" + (p.eligible ? "yes" : "no")));
        row.setAttribute("data-programme", p.code);
        row.appendChild(el("strong", null, pick(p.title)));
        if (p.eligible) {
          row.appendChild(el("span", "amount", tr("per_month", { amount: p.monthly_amount_yuan })));
          row.appendChild(el("span", "months",
            tr("months", { first: p.first_month, last: p.last_month, n: p.months })));
        } else {
          row.appendChild(el("span", "amount", tr("not_eligible")));
          row.appendChild(el("span", "reason", pick(p.reason)));
        }
      });
    } else if (b.reason) {
      body.appendChild(el("p", "reason", pick(b.reason)));
    }
    if (b.amount_yuan) {
      body.appendChild(el("p", "amount", tr("allowance",
        { amount: b.amount_yuan, days: b.days, date: b.payment_date })));
    }
    if (b.paid_to) body.appendChild(el("p", "paid-to", tr("paid_to") + " " + b.paid_to));
    if (b.can_decide) {
      var actions = body.appendChild(el("div", "actions"));
      ["confirm", "decline"].forEach(function (decision) {
        var button = actions.appendChild(el("button", decision === "confirm" ? "primary" : "secondary",
          tr(decision)));
        button.type = "button";
        button.setAttribute("data-decision", decision);
        button.addEventListener("click", function () { decide(s.step, decision, actions); });
      });
    }
  }

  function decide(step, decision, actions) {
    if (!follow) return;
    actions.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    fetch("/v1/track/" + encodeURIComponent(follow.code) + "/confirmations/" +
      encodeURIComponent(step), {
      method: "POST",
      headers: { "X-Verification": follow.verification, "Content-Type": "application/json" },
      body: JSON.stringify({ decision: decision }),
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      // The live stream brings the new state.
    }).catch(function () {
      actions.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      $("announce").textContent = tr("decision_failed");
    });
  }

  applyLang();
})();
