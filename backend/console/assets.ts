/**
 * The console's one stylesheet and one script, served under content-hashed
 * URLs (cached for a year). They live here as strings so the compiled package
 * carries them without a copy step.
 */
import { createHash } from "node:crypto";

/** The stylesheet: system fonts, phase colours with AA contrast, visible focus. */
export const CONSOLE_CSS = `
:root{--fg:#1f2328;--muted:#59636e;--bg:#fff;--panel:#f6f8fa;--line:#d1d9e0;--link:#0550ae;--focus:#0969da;
--ok-fg:#116329;--ok-bg:#dafbe1;--bad-fg:#a40e26;--bad-bg:#ffebe9;--run-fg:#0550ae;--run-bg:#ddf4ff;
--wait-fg:#7d4e00;--wait-bg:#fff8c5;--off-fg:#424a53;--off-bg:#eaeef2;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0;line-height:1.45;font-size:15px}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,summary:focus-visible,[tabindex]:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em}.skip:focus{left:.5em;z-index:10}
header.top{display:flex;flex-wrap:wrap;gap:1em;align-items:center;justify-content:space-between;padding:.6em 1.2em;border-bottom:1px solid var(--line);background:var(--panel)}
header.top .brand{font-weight:700;text-decoration:none;color:var(--fg);margin-right:1em}
nav.crumbs ol{list-style:none;display:inline-flex;flex-wrap:wrap;gap:.3em;margin:0;padding:0}
nav.crumbs li+li::before{content:"/";color:var(--muted);margin-right:.3em}
.who{display:flex;gap:.6em;align-items:center;color:var(--muted)}
main{padding:1em 1.2em 3em;max-width:1400px}
footer{padding:1em 1.2em;color:var(--muted);border-top:1px solid var(--line);font-size:.85em}
h1{font-size:1.45em;margin:.3em 0 .6em}h2{font-size:1.15em;margin:1.6em 0 .5em}h3{font-size:1em;margin:1.2em 0 .4em}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel);font-weight:600}
caption{text-align:left;font-weight:600;padding:.3em 0}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{background:var(--panel);border:1px solid var(--line);padding:.6em;overflow:auto;max-height:32em;white-space:pre-wrap;word-break:break-word}
.muted{color:var(--muted)}
.notice{border:1px solid var(--line);border-left:4px solid var(--focus);padding:.6em 1em;background:var(--panel)}
.notice.bad{border-left-color:var(--bad-fg)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1.2em;margin:.4em 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
.badge{display:inline-block;padding:.05em .55em;border-radius:1em;font-size:.85em;font-weight:600;border:1px solid currentColor}
.label{display:inline-block;padding:0 .45em;margin:0 .25em .2em 0;border-radius:.3em;background:var(--off-bg);color:var(--off-fg);font-size:.85em}
.phase-succeeded{color:var(--ok-fg);background:var(--ok-bg)}
.phase-failed,.phase-timed_out{color:var(--bad-fg);background:var(--bad-bg)}
.phase-running{color:var(--run-fg);background:var(--run-bg)}
.phase-queued{color:var(--wait-fg);background:var(--wait-bg)}
.phase-aborted,.phase-skipped,.phase-undefined,.phase-pending{color:var(--off-fg);background:var(--off-bg)}
tr.phase-succeeded,tr.phase-failed,tr.phase-timed_out,tr.phase-running,tr.phase-queued,tr.phase-aborted,tr.phase-skipped,tr.phase-undefined,tr.phase-pending{background:none;color:inherit}
form.inline{display:inline}
form.filters{display:flex;flex-wrap:wrap;gap:.8em 1.2em;align-items:flex-end;padding:.8em;background:var(--panel);border:1px solid var(--line)}
form.filters fieldset{border:0;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.2em .8em}
form.filters legend{font-weight:600;padding:0;margin-bottom:.2em}
label{font-weight:600}label .hint{font-weight:400;color:var(--muted)}
.field{display:flex;flex-direction:column;gap:.2em}
input,select,textarea,button{font:inherit}
input[type=text],input[type=password],input[type=datetime-local],select,textarea{padding:.3em .45em;border:1px solid #818b98;border-radius:.3em;background:#fff;color:var(--fg)}
button,.button{display:inline-block;padding:.35em .9em;border:1px solid #818b98;border-radius:.3em;background:#fff;color:var(--fg);cursor:pointer;text-decoration:none}
button.primary,.button.primary{background:#1f883d;border-color:#1a7f37;color:#fff}
button.danger,.button.danger{background:#cf222e;border-color:#a40e26;color:#fff}
nav.tabs ul{list-style:none;display:flex;flex-wrap:wrap;gap:1.2em;margin:.4em 0;padding:0}
.actions{display:flex;flex-wrap:wrap;gap:.6em;margin:.6em 0}
.pager{display:flex;gap:1em;margin:.6em 0}
.scroll{overflow-x:auto}
.dag,.timeline{max-width:100%;height:auto;border:1px solid var(--line);background:#fff}
.dag .edge{fill:none;stroke:#818b98;stroke-width:1.4}
.dag .dag-node rect.box{stroke-width:1.5;stroke:currentColor;fill:currentColor;fill-opacity:.14}
.dag .dag-node text{fill:var(--fg);font-size:12px}
.dag .dag-node text.sub{fill:var(--muted);font-size:10.5px}
.dag .dag-node text.phase{font-size:10.5px;font-weight:600;fill:currentColor}
.dag .dag-node{color:var(--off-fg)}
.dag .dag-node.phase-succeeded{color:var(--ok-fg)}.dag .dag-node.phase-failed,.dag .dag-node.phase-timed_out{color:var(--bad-fg)}
.dag .dag-node.phase-running{color:var(--run-fg)}.dag .dag-node.phase-queued{color:var(--wait-fg)}
.dag g.dag-node{background:none}
.dag a:focus-visible rect.box{stroke-width:3.5;stroke:var(--focus)}
.dag a{color:inherit}
.dag .expander{cursor:pointer}
.dag .expander rect{fill:#fff;stroke:#59636e}
.dag .expander text{font-size:13px;font-weight:700;fill:var(--fg)}
.dag .expander:focus{outline:none}
.dag .expander:focus-visible rect{stroke:var(--focus);stroke-width:3}
.expansion{border-left:3px solid var(--line);padding:.2em 0 .2em 1em;margin:.6em 0}
.chips{display:flex;flex-wrap:wrap;gap:.3em}
.chip{display:inline-block;min-width:2.4em;text-align:center;padding:.1em .3em;border-radius:.3em;font-size:.8em;text-decoration:none;border:1px solid currentColor}
.timeline .bar{stroke:currentColor;stroke-width:1;fill:currentColor;fill-opacity:.35}
.timeline .bar.phase-succeeded{color:var(--ok-fg)}.timeline .bar.phase-failed,.timeline .bar.phase-timed_out{color:var(--bad-fg)}
.timeline .bar.phase-running{color:var(--run-fg)}.timeline .bar.phase-queued{color:var(--wait-fg)}
.timeline .bar.phase-aborted,.timeline .bar.phase-skipped,.timeline .bar.phase-undefined{color:var(--off-fg)}
.timeline .bar{background:none}
.timeline text{font-size:11px;fill:var(--fg)}.timeline .grid{stroke:#d1d9e0}.timeline .axis{fill:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:.5em;font-size:.85em;margin:.3em 0}
.diff td.from{background:var(--bad-bg)}.diff td.to{background:var(--ok-bg)}
.value-list{margin:0;padding-left:1.2em}
.df td,.df th{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;white-space:nowrap}
.df td.num{text-align:right}
.login{max-width:28em}
.login .field{margin:.8em 0}
`;

/** The script: expanders, live execution updates, DataFrame paging, log following. No framework. */
export const CONSOLE_JS = `
(function () {
  "use strict";
  var sleep = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };

  // ---- expanders: native buttons, or SVG groups with role=button (Enter and Space toggle them)
  function toggle(el) {
    var open = el.getAttribute("aria-expanded") !== "true";
    el.setAttribute("aria-expanded", String(open));
    var panel = document.getElementById(el.getAttribute("aria-controls"));
    if (panel) panel.hidden = !open;
    var sign = el.querySelector(".expander-sign");
    if (sign) sign.textContent = open ? "\\u2212" : "+";
  }
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-expander]");
    if (el) { e.preventDefault(); toggle(el); }
  });
  document.addEventListener("keydown", function (e) {
    var el = e.target.closest && e.target.closest("[data-expander]");
    if (!el || el.tagName === "BUTTON") return;
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(el); }
  });

  // ---- live updates of an execution (or node) page while it runs
  var fragments = new Map();
  var TERMINAL = ["SUCCEEDED", "FAILED", "TIMED_OUT", "SKIPPED", "ABORTED"];
  function setPhase(el, phase) {
    el.setAttribute("data-phase", phase);
    var cls = (el.getAttribute("class") || "").replace(/\\bphase-[a-z_]+\\b/g, "").replace(/\\s+/g, " ").trim();
    el.setAttribute("class", (cls ? cls + " " : "") + "phase-" + phase.toLowerCase());
  }
  function apply(state) {
    Object.keys(state.nodes || {}).forEach(function (id) {
      var n = state.nodes[id];
      document.querySelectorAll('[data-node="' + CSS.escape(id) + '"]').forEach(function (el) {
        setPhase(el, n.phase);
        if (el.hasAttribute("data-phase-text")) el.textContent = n.phase;
        el.querySelectorAll("[data-field]").forEach(function (f) {
          var v = n[f.getAttribute("data-field")];
          if (v !== undefined && f.textContent !== String(v)) f.textContent = String(v);
        });
        var label = el.getAttribute("data-label");
        if (label) el.querySelectorAll("a[aria-label]").forEach(function (a) { a.setAttribute("aria-label", label + ": " + n.phase); });
      });
    });
    Object.keys(state.fragments || {}).forEach(function (name) {
      var markup = state.fragments[name];
      if (fragments.get(name) === markup) return;
      fragments.set(name, markup);
      var el = document.querySelector('[data-fragment="' + CSS.escape(name) + '"]');
      if (el) el.innerHTML = markup;
    });
    document.querySelectorAll("[data-live-phase]").forEach(function (el) { setPhase(el, state.phase); el.textContent = state.phase; });
  }
  async function poll(root) {
    var url = root.getAttribute("data-live-url");
    var failures = 0;
    for (;;) {
      var state;
      try {
        var res = await fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" });
        if (!res.ok) return;
        state = await res.json();
        failures = 0;
      } catch (e) {
        if (++failures > 30) return;
        await sleep(3000);
        continue;
      }
      apply(state);
      var done = root.getAttribute("data-reload-when-done");
      var started = root.getAttribute("data-reload-when-started");
      if ((done && state.nodes[done] && TERMINAL.indexOf(state.nodes[done].phase) >= 0) || (started && state.nodes[started])) { location.reload(); return; }
      if (state.terminal) { root.removeAttribute("data-live-url"); return; }
      await sleep(1000);
    }
  }

  // ---- DataFrame previews page without reloading the page
  document.addEventListener("click", async function (e) {
    var a = e.target.closest && e.target.closest("a[data-preview-url]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    var region = document.getElementById(a.getAttribute("data-preview-target"));
    try {
      var res = await fetch(a.getAttribute("data-preview-url"), { credentials: "same-origin" });
      if (!res.ok) { location.href = a.href; return; }
      var holder = document.createElement("div");
      holder.innerHTML = await res.text();
      var fresh = holder.firstElementChild;
      if (region && fresh) {
        region.replaceWith(fresh);
        var focus = fresh.querySelector("caption, h3, table");
        if (focus) { focus.setAttribute("tabindex", "-1"); focus.focus(); }
      }
    } catch (err) { location.href = a.href; }
  });

  // ---- logs of a running attempt, followed as they are written
  async function follow(pre) {
    var url = pre.getAttribute("data-follow-url");
    var status = document.getElementById(pre.getAttribute("data-follow-status"));
    try {
      var res = await fetch(url, { credentials: "same-origin" });
      if (!res.ok || !res.body) return;
      var reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      var first = true;
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        if (first) { pre.textContent = ""; first = false; }
        var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(chunk.value);
        if (atEnd) pre.scrollTop = pre.scrollHeight;
      }
      if (status) status.textContent = "The attempt ended; these are its complete logs (up to the tail shown).";
    } catch (e) {
      if (status) status.textContent = "Following the logs stopped: " + e;
    }
  }

  function start() {
    document.querySelectorAll("[data-live-url]").forEach(function (el) { poll(el); });
    document.querySelectorAll("pre[data-follow-url]").forEach(function (el) { follow(el); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
`;

const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);

/** Content-hashed asset paths. */
export const ASSET_PATHS = {
  css: `/assets/console.${digest(CONSOLE_CSS)}.css`,
  js: `/assets/console.${digest(CONSOLE_JS)}.js`,
} as const;
