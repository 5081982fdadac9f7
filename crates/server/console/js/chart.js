// Inline SVG bar charts for the dashboard's last 24 hours, drawn with the DOM (no library):
// one bar per hour, stacked by series, a tooltip per bar (<title>), three gridlines, an hour
// label every six bars, and a spoken summary on the <svg role="img"> itself. Colours come
// from the stylesheet through class names.

import {h} from './dom.js';
import {hourLabel, num} from './format.js';

const tickHour = (iso) => new Date(iso).toLocaleTimeString(undefined, {hour: 'numeric'});

// The viewBox of the <svg> elements in index.html; the CSS scales it to the card's width.
const W = 480;
const H = 220;
const PAD = {left: 44, right: 8, top: 12, bottom: 30};

const compact = new Intl.NumberFormat(undefined, {notation: 'compact', maximumFractionDigits: 1});

/** The smallest of 1, 2, 5 × 10^k at or above `v`: round axis labels. */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v);
}

/**
 * Draws `hours` (entries with `start` and the series' keys) into `svg`, stacking
 * `series` ([{key, label, className}]) bottom-up; `title` opens the spoken summary.
 */
export function barChart(svg, hours, series, title) {
  const totals = hours.map((hr) => series.reduce((sum, s) => sum + (Number(hr[s.key]) || 0), 0));
  const max = niceCeil(Math.max(1, ...totals));
  const plotH = H - PAD.top - PAD.bottom;
  const slot = (W - PAD.left - PAD.right) / Math.max(1, hours.length);
  const y = (v) => PAD.top + plotH - (v / max) * plotH;
  const nodes = [];
  // A middle line only where it falls on a whole number: counts are never fractional.
  for (const v of Number.isInteger(max / 2) ? [0, max / 2, max] : [0, max]) {
    nodes.push(h('svg:line', {class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v)}),
               h('svg:text', {class: 'tick', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end'}, compact.format(v)));
  }
  hours.forEach((hour, i) => {
    const x = PAD.left + i * slot;
    let base = 0;
    const bars = [];
    for (const s of series) {
      const v = Number(hour[s.key]) || 0;
      if (v > 0) {
        bars.push(h('svg:rect', {class: `bar ${s.className}`, x: x + slot * 0.15, width: slot * 0.7,
                                 y: y(base + v), height: Math.max(1, y(base) - y(base + v))}));
      }
      base += v;
    }
    // A full-height transparent target, so the tooltip shows over empty hours too.
    const tip = `${hourLabel(hour.start)}: ${series.map((s) => `${num(hour[s.key])} ${s.label}`).join(', ')}`;
    nodes.push(h('svg:g', {}, h('svg:title', {}, tip),
                 h('svg:rect', {x, y: PAD.top, width: slot, height: plotH, fill: 'transparent'}), bars));
    const last = i === hours.length - 1;
    if (i % 6 === 0 || last) {
      // The last label ends at the edge rather than spilling past it.
      nodes.push(h('svg:text', {class: 'tick', x: last ? x + slot : x + slot / 2, y: H - 8, 'text-anchor': last ? 'end' : 'middle'},
                   tickHour(hour.start)));
    }
  });
  svg.replaceChildren(...nodes);
  const total = totals.reduce((a, b) => a + b, 0);
  const peak = totals.indexOf(Math.max(...totals));
  svg.setAttribute('aria-label', `${title} over the last 24 hours: ${num(total)} in all` +
                   (total ? `, most at ${hourLabel(hours[peak].start)} (${num(totals[peak])})` : ''));
}
