// Canvas drawings: the output over the plane, the network, the loss curves.

const ORANGE = [245, 147, 34];   // class 0, negative weights
const BLUE = [8, 119, 189];      // class 1, positive weights
const PALETTE = [ORANGE, BLUE, [44, 160, 44], [148, 103, 189], [214, 39, 40]];
const WHITE = [255, 255, 255];

function mix(a, b, t) {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
}

// t in [0, 1]: orange -> white -> blue
function diverging(t) {
  t = Math.min(1, Math.max(0, t));
  return t < 0.5 ? mix(ORANGE, WHITE, t * 2) : mix(WHITE, BLUE, (t - 0.5) * 2);
}

function range(values) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  return hi > lo ? [lo, hi] : [lo - 1, hi + 1];
}

export function pointAt(canvas, event, domain) {
  const r = canvas.getBoundingClientRect();
  const u = (event.clientX - r.left) / r.width, v = (event.clientY - r.top) / r.height;
  return [domain[0] + u * (domain[1] - domain[0]), domain[3] - v * (domain[3] - domain[2])];
}

function image(size, colours) {
  const off = document.createElement("canvas");
  off.width = size; off.height = size;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(size, size);
  colours.forEach((c, i) => {
    img.data[4 * i] = c[0]; img.data[4 * i + 1] = c[1]; img.data[4 * i + 2] = c[2]; img.data[4 * i + 3] = 255;
  });
  ctx.putImageData(img, 0, 0);
  return off;
}

function labelColour(data, label) {
  if (data.kind === "multiclass") return PALETTE[label] || PALETTE[0];
  if (data.kind === "regression") {
    const [lo, hi] = range(data.train.label.concat(data.test.label));
    return diverging((label - lo) / (hi - lo));
  }
  return label > 0.5 ? BLUE : ORANGE;
}

export function drawBoundary(canvas, data, frame, picked = null) {
  const ctx = canvas.getContext("2d");
  const b = frame.boundary, n = b.size;
  let colours;
  if (data.kind === "multiclass") {
    const k = data.classes;
    colours = b.class.map((c, i) => mix(WHITE, PALETTE[c], Math.max(0, (b.value[i] - 1 / k) / (1 - 1 / k)) * 0.8));
  } else if (data.kind === "regression") {
    const [lo, hi] = range(data.train.label.concat(data.test.label));
    colours = b.value.map((v) => diverging((v - lo) / (hi - lo)));
  } else {
    colours = b.value.map((v) => diverging(v));
  }
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(image(n, colours), 0, 0, canvas.width, canvas.height);
  const [x0, x1, y0, y1] = data.domain;
  const px = (x) => ((x - x0) / (x1 - x0)) * canvas.width;
  const py = (y) => ((y1 - y) / (y1 - y0)) * canvas.height;
  for (const [set, rim] of [[data.train, "#fff"], [data.test, "#000"]]) {
    set.x.forEach((p, i) => {
      ctx.beginPath();
      const count = data.train.x.length + data.test.x.length;
      ctx.arc(px(p[0]), py(p[1]), count > 500 ? 2.5 : (count > 50 ? 4 : 7), 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${labelColour(data, set.label[i]).join(",")})`;
      ctx.fill();
      ctx.lineWidth = 1.2;
      ctx.strokeStyle = rim;
      ctx.stroke();
    });
  }
  const p = picked === null ? undefined : data.train.x[picked];
  if (p) {  // the point "one step, in numbers" shows
    ctx.beginPath();
    ctx.arc(px(p[0]), py(p[1]), 11, 0, 2 * Math.PI);
    ctx.lineWidth = 2.5;
    ctx.strokeStyle = "#d00";
    ctx.stroke();
  }
}

function unitImage(map, size) {
  const raw = atob(map.q);
  const colours = [];
  for (let i = 0; i < raw.length; i++) colours.push(diverging(raw.charCodeAt(i) / 255));
  return image(size, colours);
}

function inputImage(size, axis) {
  const colours = [];
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) colours.push(diverging(axis === 0 ? c / (size - 1) : 1 - r / (size - 1)));
  }
  return image(size, colours);
}

export function drawNetwork(canvas, data, frame) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const layers = data.layers;
  const cols = layers.length;
  const margin = 24, W = canvas.width, H = canvas.height;
  const colX = (l) => margin + (l * (W - 2 * margin - 30)) / Math.max(1, cols - 1);
  const boxes = layers.map((units) => Math.max(6, Math.min(30, (H - 2 * margin) / units - 3)));
  const unitY = (l, j) => {
    const step = boxes[l] + 3, total = layers[l] * step;
    return H / 2 - total / 2 + j * step + boxes[l] / 2;
  };
  // connections, coloured by sign and sized by magnitude
  frame.weights.forEach((W_l, l) => {
    W_l.forEach((row, i) => {
      row.forEach((w, j) => {
        ctx.beginPath();
        ctx.moveTo(colX(l) + boxes[l], unitY(l, i));
        ctx.lineTo(colX(l + 1), unitY(l + 1, j));
        ctx.strokeStyle = `rgba(${(w >= 0 ? BLUE : ORANGE).join(",")},${Math.min(0.9, 0.15 + Math.abs(w) / 3)})`;
        ctx.lineWidth = Math.min(5, 0.3 + Math.abs(w));
        ctx.stroke();
      });
    });
  });
  // each unit's output over the plane
  const maps = frame.units ? frame.units.maps : null;
  const size = frame.units ? frame.units.size : 16;
  layers.forEach((units, l) => {
    for (let j = 0; j < units; j++) {
      let img = null;
      if (l === 0) img = inputImage(size, j);
      else if (maps && maps[l - 1] && maps[l - 1][j]) img = unitImage(maps[l - 1][j], size);
      const s = boxes[l], x = colX(l), y = unitY(l, j) - s / 2;
      if (img) ctx.drawImage(img, x, y, s, s);
      ctx.strokeStyle = "#333"; ctx.lineWidth = 1;
      ctx.strokeRect(x, y, s, s);
    }
    ctx.fillStyle = "#333";
    ctx.font = "11px sans-serif";
    const name = l === 0 ? "inputs" : (l === cols - 1 ? `output (${data.activations[l - 1]})` : data.activations[l - 1]);
    ctx.textAlign = l === cols - 1 ? "right" : "left";
    ctx.fillText(name, l === cols - 1 ? colX(l) + boxes[l] : colX(l), H - 6);
    ctx.textAlign = "left";
  });
}

function series(ctx, xs, ys, toX, toY, colour, dash) {
  ctx.beginPath();
  ctx.setLineDash(dash);
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.6;
  let started = false;
  xs.forEach((x, i) => {
    const y = ys[i];
    if (y === null || !(y > 0)) return;
    if (!started) { ctx.moveTo(toX(x), toY(y)); started = true; } else ctx.lineTo(toX(x), toY(y));
  });
  ctx.stroke();
  ctx.setLineDash([]);
}

export function drawCurves(canvas, curve, curveA) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 30;
  ctx.clearRect(0, 0, W, H);
  const all = [curve].concat(curveA ? [curveA] : []);
  let maxEpoch = 1, lo = Infinity, hi = -Infinity;
  for (const c of all) {
    maxEpoch = Math.max(maxEpoch, ...c.epoch);
    for (const v of c.train.concat(c.test)) if (v !== null && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  if (!(hi > lo)) { lo = 1e-3; hi = 1; }
  const l0 = Math.log10(lo), l1 = Math.log10(hi) + 1e-9;
  const toX = (e) => pad + (e / maxEpoch) * (W - pad - 8);
  const toY = (v) => 8 + ((l1 - Math.log10(v)) / (l1 - l0)) * (H - pad - 8);
  ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
  ctx.strokeRect(pad, 8, W - pad - 8, H - pad - 8);
  ctx.fillStyle = "#333"; ctx.font = "10px sans-serif";
  ctx.fillText(hi.toPrecision(2), 0, 14);
  ctx.fillText(lo.toPrecision(2), 0, H - pad);
  ctx.fillText(`epoch ${maxEpoch}`, W - 70, H - 8);
  ctx.fillText("loss (log scale)", pad + 4, H - 8);
  if (curveA) {
    series(ctx, curveA.epoch, curveA.train, toX, toY, "#999", []);
    series(ctx, curveA.epoch, curveA.test, toX, toY, "#999", [4, 3]);
  }
  series(ctx, curve.epoch, curve.train, toX, toY, "rgb(8,119,189)", []);
  series(ctx, curve.epoch, curve.test, toX, toY, "rgb(245,147,34)", [4, 3]);
}
