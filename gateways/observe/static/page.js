"use strict";
// The status page: polls /status?rates every two seconds and long-polls /events/recent for
// the events after the last one it has. Every value goes into the page as text or as an
// attribute value, never as markup, so nothing an event carries can become HTML.

const STATUS_EVERY_MS = 2000;
const RETRY_MS = 2000;
const WAIT_S = 20;
const KEEP_PER_SOURCE = 50;
const SHOWN_AT_MOST = 200;
const SVG = "http://www.w3.org/2000/svg";

const recent = new Map(); // "gateway/source" -> its events, oldest first
const opened = new Set(); // seq of the events whose details are open
let next = null; // the seq of the last event seen, once the first answer came
let sourcesSeen = [];

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) node.append(child === undefined || child === null ? "" : child);
  return node;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function setConnection(state) {
  const node = document.getElementById("connection");
  node.dataset.state = state;
  node.textContent = state;
}

function ago(iso) {
  if (!iso) return "";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  return `${Math.floor(seconds / 3600)} h ago`;
}

function rateChart(rate) {
  const counts = (rate && rate.counts) || [];
  const width = 2 * counts.length;
  const height = 24;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "rate");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const top = Math.max(1, ...counts);
  const total = counts.reduce((a, b) => a + b, 0);
  const title = document.createElementNS(SVG, "title");
  title.textContent = `${total} events in the last ${(counts.length * rate.step) / 60} min;` +
    ` at most ${Math.max(0, ...counts)} per ${rate.step} s`;
  svg.append(title);
  counts.forEach((count, index) => {
    if (!count) return;
    const bar = document.createElementNS(SVG, "rect");
    const tall = Math.max(1, Math.round((count / top) * height));
    bar.setAttribute("x", String(index * 2));
    bar.setAttribute("y", String(height - tall));
    bar.setAttribute("width", "2");
    bar.setAttribute("height", String(tall));
    svg.append(bar);
  });
  svg.dataset.total = String(total);
  return svg;
}

function sourceRow(source) {
  const key = `${source.gateway}/${source.name}`;
  const counts = source.events || {};
  const number = (name, value) => el("td", { class: `n ${name}` }, value === undefined ? "" : String(value));
  const row = el(
    "tr",
    { "data-source": key, "data-state": source.state },
    el("td", { class: "gateway" }, source.gateway),
    el("td", { class: "name" }, source.name),
    el("td", { class: "kind" }, source.kind),
    el("td", { class: "state" }, el("span", { class: `badge ${source.state}` }, source.state)),
    el("td", { class: source.reason ? "reason" : "address" }, source.reason || source.address || ""),
    number("received", counts.received),
    number("delivered", counts.delivered),
    number("failed", counts.failed),
    number("dead-lettered", counts.deadLettered),
    el("td", { class: "last", title: counts.last || "" }, ago(counts.last)),
    el("td", { class: "chart" }, source.rate ? rateChart(source.rate) : ""),
  );
  if (source.since) row.title = `${source.state} since ${source.since}`;
  return row;
}

function showStatus(document_) {
  const body = document.querySelector("#sources tbody");
  body.replaceChildren(...document_.sources.map(sourceRow));
  const problems = document.getElementById("problems");
  problems.replaceChildren(...(document_.registryProblems || []).map((p) => el("li", {}, p)));
  document.getElementById("no-recording").hidden = document_.recording !== false;
  document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  sourcesSeen = document_.sources.map((s) => `${s.gateway}/${s.name}`);
  syncFilter();
}

function syncFilter() {
  const select = document.getElementById("filter");
  const wanted = new Set([...sourcesSeen, ...recent.keys()]);
  const have = new Set([...select.options].map((o) => o.value).filter((v) => v));
  for (const key of [...wanted].sort()) {
    if (!have.has(key)) select.append(el("option", { value: key }, key));
  }
}

async function pollStatus() {
  for (;;) {
    try {
      const reply = await fetch("/status?rates", { cache: "no-store" });
      if (!reply.ok) throw new Error(`status ${reply.status}`);
      showStatus(await reply.json());
    } catch (error) {
      setConnection("offline");
    }
    await sleep(STATUS_EVERY_MS);
  }
}

function keep(found) {
  for (const event of found) {
    const key = `${event.gateway}/${event.source}`;
    const list = recent.get(key) || [];
    list.push(event);
    if (list.length > KEEP_PER_SOURCE) list.splice(0, list.length - KEEP_PER_SOURCE);
    recent.set(key, list);
  }
}

function table(rows) {
  return el("table", { class: "fields" }, ...rows.map(([name, value]) =>
    el("tr", {}, el("th", {}, name), el("td", {}, typeof value === "string" ? value : JSON.stringify(value)))));
}

function eventItem(event) {
  const attributes = event.attributes || {};
  const summary = el(
    "summary",
    {},
    el("time", { datetime: event.time }, event.time.replace("T", " ").replace("Z", "")),
    el("span", { class: "source" }, `${event.gateway}/${event.source}`),
    el("span", { class: "type" }, attributes.type || ""),
    el("span", { class: "id" }, attributes.id || ""),
    el("span", { class: `badge ${event.outcome}` }, event.outcome),
  );
  const parts = [summary, el("h4", {}, "Attributes"), table(Object.entries(attributes))];
  if (event.error) parts.push(el("p", { class: "error" }, event.error));
  if (event.watchers && event.watchers.length) {
    parts.push(el("h4", {}, "Watchers"));
    parts.push(el(
      "table",
      { class: "watchers" },
      el("tr", {}, ...["watcher", "outcome", "status", "attempts", "error"].map((h) => el("th", {}, h))),
      ...event.watchers.map((w) => el(
        "tr",
        {},
        el("td", {}, w.url),
        el("td", {}, w.deadLettered ? "dead-lettered" : w.ok ? "delivered" : "failed"),
        el("td", {}, w.status === null ? "-" : String(w.status)),
        el("td", {}, String(w.attempts)),
        el("td", {}, w.error || ""),
      )),
    ));
  }
  if (event.data !== undefined || event.dataBase64 !== undefined) {
    const cut = event.dataTruncated ? ` (first 512 of ${event.dataSize} bytes)` : "";
    const how = event.dataBase64 !== undefined ? " as base64" : "";
    parts.push(el("h4", {}, `Data${how}${cut}`));
    parts.push(el("pre", { class: "data" }, event.data !== undefined ? event.data : event.dataBase64));
  }
  const details = el("details", {}, ...parts);
  details.open = opened.has(event.seq);
  details.addEventListener("toggle", () => {
    if (details.open) opened.add(event.seq);
    else opened.delete(event.seq);
  });
  return el("li", { class: "event", "data-seq": event.seq, "data-id": attributes.id || "",
    "data-source": `${event.gateway}/${event.source}`, "data-outcome": event.outcome }, details);
}

function showEvents() {
  const wanted = document.getElementById("filter").value;
  const lists = wanted ? [recent.get(wanted) || []] : [...recent.values()];
  const shown = lists.flat().sort((a, b) => b.seq - a.seq).slice(0, SHOWN_AT_MOST);
  document.getElementById("events").replaceChildren(...shown.map(eventItem));
  document.getElementById("no-events").hidden = shown.length > 0;
}

async function followEvents() {
  for (;;) {
    try {
      const query = next === null ? "" : `?after=${next}&wait=${WAIT_S}`;
      const reply = await fetch(`/events/recent${query}`, { cache: "no-store" });
      if (!reply.ok) throw new Error(`events ${reply.status}`);
      const found = await reply.json();
      setConnection("live");
      if (found.recording === false) return;
      keep(found.events);
      next = found.next;
      document.getElementById("gaps").textContent = found.gaps.length
        ? `Some events of ${found.gaps.join(", ")} came and went before this page saw them.`
        : "";
      if (found.events.length) {
        syncFilter();
        showEvents();
      }
    } catch (error) {
      setConnection("offline");
      await sleep(RETRY_MS);
    }
  }
}

document.getElementById("filter").addEventListener("change", showEvents);
pollStatus();
followEvents();
