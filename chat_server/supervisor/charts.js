/* Small SVG charts drawn with DOM APIs: no library, no inline style (CSP: style-src 'self').
   Colours and font sizes come from classes in live.css. Every chart is drawn at the width of
   its container, one SVG unit to one CSS pixel, so its text is as large as the page's (never
   scaled down), and redrawn when that width changes or the page is printed. Labels are
   measured and wrapped so they fit; axes get round ticks that reach the largest value; a
   withheld value ("<5" or "x" from the server) is a hatched stub labelled in words, with a
   key under the chart. Every chart is an <svg role="img"> whose <title> and <desc> say in
   words what it shows, so a screen reader gets the numbers too. */
import { clockTime, t } from "/design/staff-i18n.js";
import "./labels.js"; // adds the chart strings

const SVG_NS = "http://www.w3.org/2000/svg";
const PAD_PX = 4;
const MIN_WIDTH_PX = 260;
const PRINT_WIDTH_PX = 640;
const LINE_PX = 18;
const BAR_PX = 16;
const STUB_PX = 22;

let printing = false;
let chartCount = 0;
const redraws = new Map(); // container -> draw()
const drawnWidth = new WeakMap(); // container -> width it was last drawn at

function svgEl(name, attrs = {}, text = null) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== null) el.textContent = text;
  return el;
}

function htmlEl(name, cls, text = null) {
  const el = document.createElement(name);
  if (cls) el.className = cls;
  if (text !== null) el.textContent = text;
  return el;
}

function chartWidth(container) {
  if (printing) return PRINT_WIDTH_PX;
  return Math.max(MIN_WIDTH_PX, Math.floor(container.clientWidth || 560));
}

/* A fresh <svg> in the container, with its title, description and hatch pattern. */
function chartRoot(container, width, title, description) {
  container.replaceChildren();
  const id = `chart-${++chartCount}`;
  const svg = svgEl("svg", { role: "img", class: "chart", width, height: 40,
    "aria-labelledby": `${id}-t ${id}-d` });
  svg.append(svgEl("title", { id: `${id}-t` }, title), svgEl("desc", { id: `${id}-d` }, description));
  const pattern = svgEl("pattern", { id: `${id}-hatch`, patternUnits: "userSpaceOnUse", width: 6,
    height: 6, patternTransform: "rotate(45)" });
  pattern.append(svgEl("rect", { width: 6, height: 6, class: "hatch-ground" }),
    svgEl("line", { x1: 1, y1: 0, x2: 1, y2: 6, class: "hatch-line" }));
  const defs = svgEl("defs");
  defs.append(pattern);
  svg.append(defs);
  svg.dataset.hatch = `url(#${id}-hatch)`;
  container.append(svg);
  drawnWidth.set(container, width);
  return svg;
}

function finish(svg, width, height) {
  svg.setAttribute("width", width);
  svg.setAttribute("height", Math.ceil(height));
  svg.setAttribute("viewBox", `0 0 ${width} ${Math.ceil(height)}`);
}

function textWidth(svg, text, cls) {
  const probe = svgEl("text", { class: cls, x: 0, y: 0 }, text);
  svg.append(probe);
  const width = probe.getComputedTextLength();
  probe.remove();
  return width;
}

/* Greedy word wrap to maxWidth; a single word longer than that gets a line of its own. */
function wrap(svg, text, cls, maxWidth) {
  const lines = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && textWidth(svg, candidate, cls) > maxWidth) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

function multiline(x, y, lines, cls) {
  const text = svgEl("text", { x, y, class: cls });
  lines.forEach((line, i) => text.append(svgEl("tspan", { x, dy: i ? LINE_PX : 0 }, line)));
  return text;
}

/* A published cell is a number; "<5" and "x" are withheld (fewer than five, or hiding one). */
function cellValue(cell) { return typeof cell === "number" ? cell : null; }
function isWithheld(cell) { return cell === "<5" || cell === "x"; }
/* Short form for figures and column tops; long form beside a bar. */
export function cellText(cell) {
  if (typeof cell === "number") return String(cell);
  return cell === "<5" ? t("chart.less_than_five") : cell === "x" ? t("chart.hidden") : String(cell);
}
export function cellWords(cell) {
  if (cell === "<5") return t("chart.withheld_less_than_five");
  if (cell === "x") return t("chart.withheld_hidden");
  return cellText(cell);
}

/* Round ticks from 0 that reach max: steps of 1, 2 or 5 × 10ⁿ, about five of them. */
export function niceTicks(max) {
  const top = Math.max(max, 1);
  const raw = top / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw));
  const last = Math.ceil(top / step) * step;
  const ticks = [];
  for (let t = 0; t <= last; t += step) ticks.push(t);
  return { ticks, top: last };
}

function withheldKey(container, text) {
  const key = htmlEl("p", "chart-key");
  key.append(htmlEl("span", "swatch withheld"), document.createTextNode(text));
  key.firstChild.setAttribute("aria-hidden", "true");
  container.append(key);
}

function legend(container, series, anyWithheld) {
  const list = htmlEl("ul", "legend");
  for (const s of series) {
    const item = htmlEl("li");
    const swatch = htmlEl("span", `swatch ${s.cls}`);
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, document.createTextNode(s.name));
    list.append(item);
  }
  container.append(list);
  if (anyWithheld) withheldKey(container, t("chart.withheld_key"));
}

function register(container, draw) {
  redraws.set(container, draw);
  resizeWatch.observe(container);
  draw();
}

const resizeWatch = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const draw = redraws.get(entry.target);
    if (draw && !printing && chartWidth(entry.target) !== drawnWidth.get(entry.target)) draw();
  }
});

function redrawAll(forPrint) {
  printing = forPrint;
  for (const [container, draw] of redraws) {
    if (container.isConnected) draw(); else redraws.delete(container);
  }
}
window.addEventListener("beforeprint", () => redrawAll(true));
window.addEventListener("afterprint", () => redrawAll(false));
window.matchMedia("print").addEventListener("change", (event) => redrawAll(event.matches));

/* Horizontal bars: items = [{label, cell}]. Labels sit left of their bars, wrapped to fit,
   or above them when the chart is narrow; every bar carries its value in words. */
export function barChart(container, items, title) {
  const words = items.map((item) => `${item.label}: ${cellWords(item.cell)}`).join("; ");
  const draw = () => {
    const width = chartWidth(container);
    const svg = chartRoot(container, width, title, words || t("chart.no_data"));
    const valueW = Math.max(24, ...items.map((item) => textWidth(svg, cellWords(item.cell), "value"))) + 8;
    const longest = Math.max(0, ...items.map((item) => textWidth(svg, item.label, "chart-label")));
    const longestWord = Math.max(0, ...items.flatMap((item) =>
      item.label.split(/\s+/).map((word) => textWidth(svg, word, "chart-label"))));
    const labelW = Math.ceil(Math.min(longest, Math.max(longestWord, width * 0.42)));
    const stacked = PAD_PX + labelW + 10 + 60 + valueW > width;
    const barX = stacked ? PAD_PX : PAD_PX + labelW + 10;
    const barSpace = Math.max(20, width - barX - valueW - PAD_PX);
    const max = Math.max(1, ...items.map((item) => cellValue(item.cell) ?? 0));
    let y = PAD_PX;
    for (const item of items) {
      const lines = wrap(svg, item.label, "chart-label", stacked ? width - 2 * PAD_PX : labelW);
      svg.append(multiline(PAD_PX, y + 14, lines, "chart-label"));
      const barY = stacked ? y + lines.length * LINE_PX + 2 : y + 1;
      const value = cellValue(item.cell);
      const w = value === null ? STUB_PX : value > 0 ? Math.max(2, (value / max) * barSpace) : 0;
      const bar = svgEl("rect", { x: barX, y: barY, width: w, height: BAR_PX,
        class: value === null ? "bar withheld" : "bar" });
      if (value === null) bar.setAttribute("fill", svg.dataset.hatch);
      svg.append(bar);
      svg.append(svgEl("text", { x: barX + w + 6, y: barY + 13,
        class: value === null ? "value withheld-text" : "value" }, cellWords(item.cell)));
      y += stacked ? lines.length * LINE_PX + BAR_PX + 14 : Math.max(lines.length * LINE_PX, BAR_PX + 2) + 10;
    }
    finish(svg, width, Math.max(y, 30));
    if (items.some((item) => isWithheld(item.cell))) withheldKey(container, t("chart.withheld_key_short"));
  };
  register(container, draw);
}

/* Grouped columns: categories = ["v. 18", ...], series = [{name, cls, cells: [...]}], with a
   value axis of round ticks and an HTML legend under the chart (it cannot overlap). */
export function columnChart(container, categories, series, title) {
  const words = categories.map((cat, i) =>
    `${cat}: ${series.map((s) => `${s.name} ${cellWords(s.cells[i])}`).join(", ")}`).join("; ");
  const anyWithheld = series.some((s) => s.cells.some(isWithheld));
  const draw = () => {
    const width = chartWidth(container);
    const svg = chartRoot(container, width, title, words || t("chart.no_data"));
    const values = series.flatMap((s) => s.cells.map(cellValue)).filter((v) => v !== null);
    const { ticks, top } = niceTicks(Math.max(0, ...values));
    const tickW = Math.max(...ticks.map((t) => textWidth(svg, String(t), "tick")));
    const left = PAD_PX + tickW + 8, right = PAD_PX + 2, topPad = 24, bottom = 26, height = 250;
    const plotW = width - left - right, plotH = height - topPad - bottom;
    const yOf = (v) => topPad + plotH - (v / top) * plotH;
    for (const tick of ticks) {
      svg.append(svgEl("line", { x1: left, y1: yOf(tick), x2: width - right, y2: yOf(tick),
        class: tick === 0 ? "axis" : "grid" }));
      svg.append(svgEl("text", { x: left - 6, y: yOf(tick) + 4, class: "tick y-tick", "text-anchor": "end" },
        String(tick)));
    }
    const groupW = plotW / Math.max(1, categories.length);
    const barW = Math.max(1, Math.min(36, (groupW * 0.8) / series.length));
    const catW = Math.max(0, ...categories.map((cat) => textWidth(svg, cat, "tick")));
    const every = Math.max(1, Math.ceil((catW + 8) / groupW));
    categories.forEach((cat, i) => {
      const x0 = left + i * groupW + (groupW - barW * series.length) / 2;
      series.forEach((s, j) => {
        const value = cellValue(s.cells[i]);
        const h = value === null ? STUB_PX / 2 : (value / top) * plotH;
        const x = x0 + j * barW;
        const bar = svgEl("rect", { x, y: topPad + plotH - h, width: barW > 3 ? barW - 1 : barW, height: h,
          class: `bar ${s.cls}${value === null ? " withheld" : ""}` });
        if (value === null) bar.setAttribute("fill", svg.dataset.hatch);
        svg.append(bar);
        const short = cellText(s.cells[i]);
        if (value !== 0 && textWidth(svg, short, "tick") <= barW + 2) {
          svg.append(svgEl("text", { x: x + (barW - 1) / 2, y: topPad + plotH - h - 4, class: "tick column-value",
            "text-anchor": "middle" }, short));
        }
      });
      if (i % every === 0) {
        svg.append(svgEl("text", { x: left + i * groupW + groupW / 2, y: height - 8, class: "tick",
          "text-anchor": "middle" }, cat));
      }
    });
    finish(svg, width, height);
    legend(container, series, anyWithheld);
  };
  register(container, draw);
}

/* A step line of (ms, count) points over time, for the queue length: round ticks, full
   hours along the bottom, and the latest count written at the end of the line. */
export function stepChart(container, points, title) {
  const counts = points.map((p) => p[1]);
  const words = points.length
    ? t("chart.queue_words", { highest: Math.max(...counts), now: counts[counts.length - 1],
      count: points.length })
    : t("chart.no_samples");
  const draw = () => {
    const width = chartWidth(container);
    const svg = chartRoot(container, width, title, words);
    const { ticks, top } = niceTicks(Math.max(0, ...counts));
    const nowText = points.length ? t("chart.queue_now", { count: counts[counts.length - 1] }) : "";
    const tickW = Math.max(...ticks.map((t) => textWidth(svg, String(t), "tick")));
    const left = PAD_PX + tickW + 8, right = PAD_PX + textWidth(svg, nowText, "value") + 10;
    const topPad = 10, bottom = 26, height = 190;
    const plotW = width - left - right, plotH = height - topPad - bottom;
    const yOf = (n) => topPad + plotH - (n / top) * plotH;
    for (const tick of ticks) {
      svg.append(svgEl("line", { x1: left, y1: yOf(tick), x2: left + plotW, y2: yOf(tick),
        class: tick === 0 ? "axis" : "grid" }));
      svg.append(svgEl("text", { x: left - 6, y: yOf(tick) + 4, class: "tick y-tick", "text-anchor": "end" },
        String(tick)));
    }
    if (points.length) {
      const t0 = points[0][0], t1 = Math.max(points[points.length - 1][0], t0 + 1);
      const xOf = (ms) => left + ((ms - t0) / (t1 - t0)) * plotW;
      let d = `M ${xOf(t0).toFixed(1)} ${yOf(points[0][1]).toFixed(1)}`;
      for (let i = 1; i < points.length; i++) {
        d += ` H ${xOf(points[i][0]).toFixed(1)} V ${yOf(points[i][1]).toFixed(1)}`;
      }
      svg.append(svgEl("path", { d, class: "line" }));
      const last = counts[counts.length - 1];
      svg.append(svgEl("circle", { cx: xOf(t1), cy: yOf(last), r: 4, class: "dot" }));
      svg.append(svgEl("text", { x: xOf(t1) + 8, y: yOf(last) + 5, class: "value" }, nowText));
      const clockW = textWidth(svg, "00:00", "tick") + 12;
      const hourMs = 3600000;
      const hours = [];
      for (let ms = Math.ceil(t0 / hourMs) * hourMs; ms <= t1; ms += hourMs) hours.push(ms);
      const every = Math.max(1, Math.ceil((clockW * hours.length) / plotW));
      const marks = hours.length ? hours.filter((_, i) => i % every === 0) : [t0];
      for (const ms of marks) {
        const x = Math.min(Math.max(xOf(ms), left + clockW / 2), left + plotW - clockW / 2);
        svg.append(svgEl("text", { x, y: height - 8, class: "tick", "text-anchor": "middle" }, clockTime(ms)));
      }
    } else {
      svg.append(svgEl("text", { x: left + plotW / 2, y: topPad + plotH / 2, class: "value",
        "text-anchor": "middle" }, t("chart.no_samples")));
    }
    finish(svg, width, height);
  };
  register(container, draw);
}

