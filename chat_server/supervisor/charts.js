"use strict";
/* Small SVG charts drawn with DOM APIs: no library, no inline style (CSP: style-src 'self').
   Colours come from classes in live.css. Every chart is an <svg role="img"> whose <title>
   and <desc> say in words what it shows, so a screen reader gets the numbers too. */
const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(name, attrs = {}, text = null) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== null) el.textContent = text;
  return el;
}

function chartRoot(container, width, height, title, description) {
  container.replaceChildren();
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart" });
  const id = `chart-${Math.random().toString(36).slice(2)}`;
  svg.setAttribute("aria-labelledby", `${id}-t ${id}-d`);
  svg.append(svgEl("title", { id: `${id}-t` }, title), svgEl("desc", { id: `${id}-d` }, description));
  container.append(svg);
  return svg;
}

/* A published cell is a number; "<5" and "x" are withheld (fewer than five, or hiding one). */
function cellValue(cell) { return typeof cell === "number" ? cell : null; }
function cellText(cell) { return typeof cell === "number" ? String(cell) : cell === "x" ? "dolt" : cell; }

/* Horizontal bars: items = [{label, cell}]. Withheld cells get a hatched stub and their marker. */
function barChart(container, items, title) {
  const rowH = 22, labelW = 190, width = 560, valueW = 50;
  const height = Math.max(rowH * items.length + 8, 30);
  const words = items.map((item) => `${item.label}: ${cellText(item.cell)}`).join("; ");
  const svg = chartRoot(container, width, height, title, words || "Inga uppgifter.");
  const max = Math.max(1, ...items.map((item) => cellValue(item.cell) ?? 0));
  const barSpace = width - labelW - valueW;
  items.forEach((item, i) => {
    const y = 4 + i * rowH;
    svg.append(svgEl("text", { x: labelW - 6, y: y + 15, class: "label", "text-anchor": "end" }, item.label));
    const value = cellValue(item.cell);
    const w = value === null ? 8 : Math.max(value > 0 ? 2 : 0, (value / max) * barSpace);
    svg.append(svgEl("rect", { x: labelW, y: y + 3, width: w, height: rowH - 8,
      class: value === null ? "bar withheld" : "bar" }));
    svg.append(svgEl("text", { x: labelW + w + 4, y: y + 15, class: "value" }, cellText(item.cell)));
  });
  return svg;
}

/* Grouped columns: categories = ["v. 18", ...], series = [{name, cls, cells: [...]}]. */
function columnChart(container, categories, series, title) {
  const width = 560, height = 220, left = 36, bottom = 36, top = 24;
  const words = categories.map((cat, i) =>
    `${cat}: ${series.map((s) => `${s.name} ${cellText(s.cells[i])}`).join(", ")}`).join("; ");
  const svg = chartRoot(container, width, height, title, words || "Inga uppgifter.");
  const max = Math.max(1, ...series.flatMap((s) => s.cells.map((c) => cellValue(c) ?? 0)));
  const plotH = height - top - bottom;
  const groupW = (width - left) / Math.max(1, categories.length);
  const barW = Math.max(2, Math.min(28, (groupW - 6) / series.length));
  svg.append(svgEl("line", { x1: left, y1: top + plotH, x2: width, y2: top + plotH, class: "axis" }));
  svg.append(svgEl("text", { x: left - 4, y: top + 4, class: "tick", "text-anchor": "end" }, String(max)));
  svg.append(svgEl("text", { x: left - 4, y: top + plotH, class: "tick", "text-anchor": "end" }, "0"));
  categories.forEach((cat, i) => {
    const x0 = left + i * groupW + 3;
    series.forEach((s, j) => {
      const value = cellValue(s.cells[i]);
      const h = value === null ? 6 : (value / max) * plotH;
      svg.append(svgEl("rect", { x: x0 + j * barW, y: top + plotH - h, width: barW - 1, height: h,
        class: `bar ${s.cls}${value === null ? " withheld" : ""}` }));
    });
    svg.append(svgEl("text", { x: x0 + (barW * series.length) / 2, y: height - bottom + 14,
      class: "tick", "text-anchor": "middle" }, cat));
  });
  series.forEach((s, j) => {
    svg.append(svgEl("rect", { x: left + j * 130, y: 4, width: 10, height: 10, class: `bar ${s.cls}` }));
    svg.append(svgEl("text", { x: left + j * 130 + 14, y: 13, class: "tick" }, s.name));
  });
  return svg;
}

/* A step line of (ms, count) points over time, for the queue length. */
function stepChart(container, points, title) {
  const width = 560, height = 160, left = 30, bottom = 22, top = 10, right = 8;
  const counts = points.map((p) => p[1]);
  const max = Math.max(1, ...counts);
  const words = points.length
    ? `Högst ${Math.max(...counts)} i kö, nu ${counts[counts.length - 1]} (${points.length} mätpunkter).`
    : "Inga mätpunkter ännu.";
  const svg = chartRoot(container, width, height, title, words);
  const plotW = width - left - right, plotH = height - top - bottom;
  svg.append(svgEl("line", { x1: left, y1: top + plotH, x2: width - right, y2: top + plotH, class: "axis" }));
  svg.append(svgEl("text", { x: left - 4, y: top + 8, class: "tick", "text-anchor": "end" }, String(max)));
  svg.append(svgEl("text", { x: left - 4, y: top + plotH, class: "tick", "text-anchor": "end" }, "0"));
  if (points.length === 0) return svg;
  const t0 = points[0][0], t1 = Math.max(points[points.length - 1][0], t0 + 1);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * plotW;
  const y = (n) => top + plotH - (n / max) * plotH;
  let d = `M ${x(points[0][0]).toFixed(1)} ${y(points[0][1]).toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    d += ` H ${x(points[i][0]).toFixed(1)} V ${y(points[i][1]).toFixed(1)}`;
  }
  svg.append(svgEl("path", { d, class: "line" }));
  const clock = (t) => new Date(t).toLocaleTimeString("sv-SE", { hour: "2-digit", minute: "2-digit" });
  svg.append(svgEl("text", { x: left, y: height - 6, class: "tick" }, clock(t0)));
  svg.append(svgEl("text", { x: width - right, y: height - 6, class: "tick", "text-anchor": "end" }, clock(t1)));
  return svg;
}

window.NexusCharts = { barChart, columnChart, stepChart, cellText };
