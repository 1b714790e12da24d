// The playground page: controls, a WebSocket to the server, and the drawings.
// Training runs in the server (plainnet's core or its NumPy twin); this page
// only sends the setup and draws what comes back.
import { drawBoundary, drawNetwork, drawCurves, pointAt } from "./draw.js";

const $ = (id) => document.getElementById(id);
const state = {
  ready: null, config: null, data: null, frame: null, hidden: [4], acts: ["sigmoid"],
  drawn: [], csv: null, curveA: null, labelA: "", socket: null, playing: false, picked: null,
};

// ------------------------------------------------------------------ messages

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws${location.search}`);
  state.socket = ws;
  ws.onmessage = (event) => {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { showError(`bad message: ${e}`); return; }
    const handler = handlers[msg.type];
    if (handler) handler(msg);
  };
  ws.onclose = () => showError("The connection to the playground server is closed; restart it and reload the page.");
}

function send(msg) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(msg));
  } else {
    showError("Not connected to the playground server.");
  }
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

const handlers = {
  ready(msg) {
    state.ready = msg;
    if (msg.user_data) {
      const opt = document.querySelector('#dataset option[value="user"]');
      opt.disabled = false; opt.hidden = false;
    }
    for (const el of [$("layers")]) el.dataset.acts = msg.activations.join(",");
    const fromUrl = configFromHash();
    if (fromUrl) send({ type: "config", config: fromUrl });
  },
  data(msg) {
    state.data = msg;
    state.picked = null;
    state.frame = null;  // the old frame belongs to the old data; the new one follows
    applyConfig(msg.config);
    showError("");
  },
  frame(msg) {
    state.frame = msg;
    render();
  },
  status(msg) {
    state.playing = msg.playing;
    $("play").setAttribute("aria-pressed", String(msg.playing));
    document.body.classList.toggle("playing", msg.playing);
  },
  error(msg) {
    showError(msg.about ? `${msg.about}: ${msg.message}` : msg.message);
  },
  one_step(msg) { renderOneStep(msg); render(); },
  network(msg) {
    const bytes = Uint8Array.from(atob(msg.base64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url; a.download = msg.filename;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  },
  python(msg) {
    $("python-script").textContent = msg.script;
    if (navigator.clipboard) navigator.clipboard.writeText(msg.script).catch(() => {});
  },
  weights() {},
  pong() {},
};

// ------------------------------------------------------------------ the setup

function num(id) {
  const text = $(id).value.trim();
  return text === "" ? NaN : Number(text);
}

function readConfig() {
  const c = JSON.parse(JSON.stringify(state.config));
  const source = $("dataset").value;
  c.data = {
    source, points: num("points"), noise: num("noise"), classes: Number($("classes").value),
    test_fraction: num("test-fraction"), seed: num("data-seed"),
  };
  if (source === "drawn") c.data.drawn = state.drawn;
  if (source === "csv") c.data.csv = state.csv;
  c.network = {
    hidden: state.hidden.slice(), activations: state.acts.slice(), loss: $("loss").value,
    init: $("init").value, seed: num("init-seed"),
  };
  c.training = {
    optimizer: $("optimizer").value, lr: num("lr"), momentum: num("momentum"),
    weight_decay: num("weight-decay"), batch_size: num("batch-size"), l2: num("l2"),
    stop_loss: num("stop-loss"), nesterov: $("nesterov").value === "true",
    beta1: num("beta1"), beta2: num("beta2"),
  };
  c.backend = $("backend").value;
  return c;
}

function applyConfig(c) {
  state.config = c;
  const d = c.data, n = c.network, t = c.training;
  $("dataset").value = d.source;
  $("points").value = d.points; $("noise").value = d.noise; $("classes").value = String(d.classes);
  $("test-fraction").value = d.test_fraction; $("data-seed").value = d.seed;
  if (d.source === "drawn" && Array.isArray(d.drawn)) state.drawn = d.drawn;
  state.hidden = n.hidden.slice(); state.acts = n.activations.slice();
  $("loss").value = n.loss; $("init").value = n.init; $("init-seed").value = n.seed;
  $("optimizer").value = t.optimizer; $("lr").value = t.lr; $("momentum").value = t.momentum;
  $("weight-decay").value = t.weight_decay; $("batch-size").value = t.batch_size; $("l2").value = t.l2;
  $("stop-loss").value = t.stop_loss; $("nesterov").value = String(t.nesterov);
  $("beta1").value = t.beta1; $("beta2").value = t.beta2;
  $("backend").value = c.backend;
  document.body.dataset.source = d.source;
  $("draw-count").textContent = `${state.drawn.length} points`;
  renderLayers();
  saveHash(c);
}

function sendConfig(changes = {}) {
  const c = readConfig();
  if (changes.autoLoss) c.network.loss = "auto";
  document.body.dataset.source = c.data.source;
  if (c.data.source === "drawn" && state.drawn.length < 2) {
    showError("Click at least 2 points on the output (or type them in) to make a data set.");
    return;
  }
  if (c.data.source === "csv" && !state.csv) {
    showError("Choose a CSV file: two feature columns and a label.");
    return;
  }
  showError("");
  send({ type: "config", config: c });
}

// The whole setup lives in the URL's fragment (never sent to the server), as
// TensorFlow Playground does; uploaded CSV data stays out of it.
function saveHash(c) {
  const copy = JSON.parse(JSON.stringify(c));
  if (copy.data.source === "csv" || copy.data.source === "user") copy.data.source = "xor";
  delete copy.data.csv;
  history.replaceState(null, "", `${location.pathname}${location.search}#setup=${encodeURIComponent(JSON.stringify(copy))}`);
}

function configFromHash() {
  const m = location.hash.match(/^#setup=(.*)$/);
  if (!m) return null;
  try { return JSON.parse(decodeURIComponent(m[1])); } catch (e) { showError(`The link's setup is not readable: ${e}`); return null; }
}

function renderLayers() {
  const box = $("layers");
  const names = state.ready ? state.ready.activations : ["sigmoid"];
  box.replaceChildren();
  state.hidden.forEach((units, i) => {
    const row = document.createElement("div");
    row.className = "layer";
    const uid = `units-${i}`, aid = `activation-${i}`;
    row.innerHTML = `<span>Hidden layer ${i + 1}</span>
      <label for="${uid}">units</label><input id="${uid}" data-testid="${uid}" type="number" min="1" max="64" step="1" value="${units}">
      <label for="${aid}">activation</label><select id="${aid}" data-testid="${aid}"></select>`;
    const sel = row.querySelector("select");
    for (const name of names) sel.add(new Option(name, name));
    sel.value = state.acts[i];
    sel.addEventListener("change", () => { state.acts[i] = sel.value; sendConfig(); });
    const inp = row.querySelector("input");
    inp.addEventListener("change", () => { state.hidden[i] = Number(inp.value); sendConfig(); });
    box.appendChild(row);
  });
  const max = state.ready ? state.ready.limits.hidden_layers : 8;
  $("add-layer").disabled = state.hidden.length >= max;
  $("remove-layer").disabled = state.hidden.length === 0;
}

// ------------------------------------------------------------------ drawing

function plain(v) {
  return v === null || v === undefined ? "-" : String(Number(v.toPrecision(6)));
}

function render() {
  const f = state.frame, d = state.data;
  if (!f || !d) return;
  $("epoch").textContent = String(f.epoch);
  $("train-loss").textContent = plain(f.train_loss);
  $("test-loss").textContent = plain(f.test_loss);
  const pct = (v) => (v === null || v === undefined ? "-" : `${(100 * v).toFixed(1)} %`);
  $("train-accuracy").textContent = pct(f.train_accuracy);
  $("test-accuracy").textContent = pct(f.test_accuracy);
  if (f.epochs_per_second !== undefined) $("rate").textContent = Math.round(f.epochs_per_second).toLocaleString("en");
  const s = f.speeds || {};
  const parts = Object.entries(s).map(([k, v]) => `${k} ${Math.round(v).toLocaleString("en")}`);
  if (s.native && s.numpy) parts.push(`native ${(s.native / s.numpy).toFixed(1)}× numpy`);
  $("speeds").textContent = parts.length ? `(training alone: ${parts.join(" · ")} epochs/s)` : "";
  drawBoundary($("boundary"), d, f, state.picked);
  drawNetwork($("network"), d, f);
  drawCurves($("curves"), f.curve, state.curveA);
}

function table(rows, caption) {
  const t = document.createElement("table");
  if (caption) t.createCaption().textContent = caption;
  const matrix = Array.isArray(rows[0]) ? rows : [rows];
  for (const r of matrix.slice(0, 12)) {
    const tr = t.insertRow();
    for (const v of r.slice(0, 12)) tr.insertCell().textContent = Number(v).toPrecision(4);
  }
  return t;
}

function code(title, text) {
  const det = document.createElement("details");
  det.open = true;
  const sum = document.createElement("summary");
  sum.textContent = title;
  const pre = document.createElement("pre");
  pre.className = "source";
  pre.textContent = text;
  det.append(sum, pre);
  return det;
}

function renderOneStep(msg) {
  const out = $("numbers-out");
  out.replaceChildren();
  const head = document.createElement("p");
  head.innerHTML = `At epoch ${msg.epoch}, on ${msg.rows} (${msg.count} row${msg.count === 1 ? "" : "s"}${msg.shown < msg.count ? `, first ${msg.shown} shown` : ""}): loss (${msg.loss_name}) <strong data-testid="one-step-loss">${plain(msg.loss)}</strong>; the update is the ${msg.optimizer} optimizer's.`;
  out.append(head, table(msg.x, "inputs x"));
  const src = msg.source;
  const fwd = document.createElement("section");
  fwd.innerHTML = "<h3>Forward</h3>";
  fwd.append(code("plainnet.reference.forward_trace", src.forward), code("dense_forward: z = a_prev @ W + b", src.dense_forward));
  for (const [name, text] of Object.entries(src.activations)) fwd.append(code(`activation ${name}: a = f(z)`, text));
  if (msg.layers.some((l) => l.activation === "softmax")) fwd.append(code("softmax", src.softmax));
  const loss = document.createElement("section");
  loss.innerHTML = "<h3>Loss</h3>";
  loss.append(code(`${msg.loss_name}: the loss`, src.loss), code(`${msg.loss_name}: its gradient at the output`, src.loss_gradient));
  const bwd = document.createElement("section");
  bwd.innerHTML = "<h3>Backward</h3>";
  bwd.append(code("_backward: blame flows from the output to the first layer", src.backward),
    code("activation_backward", src.activation_backward), code("dense_backward", src.dense_backward));
  for (const [name, text] of Object.entries(src.derivatives)) bwd.append(code(`derivative of ${name}`, text));
  const upd = document.createElement("section");
  upd.innerHTML = "<h3>Update</h3>";
  upd.append(code(`${msg.optimizer}: the update`, src.update), code("L2 penalty (when L2 > 0)", src.l2));
  out.append(fwd);
  msg.layers.forEach((l) => {
    const sec = document.createElement("section");
    sec.className = "layer-numbers";
    sec.innerHTML = `<h3>Layer ${l.layer + 1} (${l.activation})</h3>`;
    const grid = document.createElement("div");
    grid.className = "tables";
    grid.append(table(l.z, "z = a_prev @ W + b"), table(l.a, `a = ${l.activation}(z)`),
      table(l.W, "W"), table(l.b, "b"), table(l.dW, "dE/dW"), table(l.db, "dE/db"),
      table(l.update_W, "update of W"), table(l.update_b, "update of b"));
    sec.append(grid);
    out.append(sec);
  });
  out.append(loss, bwd, upd);
}

// ------------------------------------------------------------------ controls

function showOneStep() {
  showError("");
  const text = $("numbers-point").value.trim();
  state.picked = text === "" ? null : Number(text);
  send({ type: "pause" });
  send({ type: "one_step", point: state.picked });
}

function wire() {
  $("play").addEventListener("click", () => { showError(""); send({ type: "play" }); });
  $("pause").addEventListener("click", () => send({ type: "pause" }));
  $("step").addEventListener("click", () => { showError(""); send({ type: "step", epochs: 1 }); });
  $("reset").addEventListener("click", () => { showError(""); send({ type: "reset" }); });
  $("speed").addEventListener("change", () => send({ type: "speed", epochs_per_frame: Number($("speed").value) }));
  $("backend").addEventListener("change", () => send({ type: "backend", name: $("backend").value }));
  $("dataset").addEventListener("change", () => sendConfig({ autoLoss: true }));
  $("classes").addEventListener("change", () => sendConfig({ autoLoss: true }));
  for (const id of ["points", "noise", "test-fraction", "data-seed", "loss", "init", "init-seed",
    "optimizer", "lr", "momentum", "weight-decay", "batch-size", "l2", "stop-loss", "nesterov", "beta1", "beta2"]) {
    $(id).addEventListener("change", () => sendConfig());
  }
  $("add-layer").addEventListener("click", () => {
    state.hidden.push(4);
    state.acts.push(state.acts.length ? state.acts[state.acts.length - 1] : "tanh");
    sendConfig();
  });
  $("remove-layer").addEventListener("click", () => {
    state.hidden.pop(); state.acts.pop();
    sendConfig();
  });
  const addPoint = (x, y) => {
    state.drawn.push([x, y, Number($("draw-class").value)]);
    $("draw-count").textContent = `${state.drawn.length} points`;
    sendConfig({ autoLoss: true });
  };
  $("boundary").addEventListener("click", (event) => {
    if ($("dataset").value === "drawn") {
      const [x, y] = pointAt($("boundary"), event, [-1.2, 1.2, -1.2, 1.2]);
      addPoint(Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000);
      return;
    }
    // a click near a training point picks it for "one step, in numbers"
    if (!state.data) return;
    const dom = state.data.domain;
    const [x, y] = pointAt($("boundary"), event, dom);
    let best = -1, bestD = Infinity;
    state.data.train.x.forEach((p, i) => {
      const d = (p[0] - x) ** 2 + (p[1] - y) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    });
    if (best < 0 || Math.sqrt(bestD) > 0.04 * (dom[1] - dom[0])) return;
    $("numbers-point").value = String(best);
    showOneStep();
  });
  $("draw-add").addEventListener("click", () => addPoint(num("draw-x"), num("draw-y")));
  $("draw-clear").addEventListener("click", () => { state.drawn = []; $("draw-count").textContent = "0 points"; });
  $("csv-file").addEventListener("change", async () => {
    const file = $("csv-file").files[0];
    if (!file) return;
    const limit = state.ready ? state.ready.limits.csv_bytes : 262144;
    if (file.size > limit) { showError(`csv: at most ${limit} bytes, the file has ${file.size}`); return; }
    state.csv = await file.text();
    $("dataset").value = "csv";
    sendConfig({ autoLoss: true });
  });
  $("keep-a").addEventListener("click", () => {
    if (!state.frame) return;
    state.curveA = JSON.parse(JSON.stringify(state.frame.curve));
    const c = state.config;
    state.labelA = `A: ${c.data.source}, ${[2, ...c.network.hidden].join("-")}, ${c.training.optimizer} lr ${c.training.lr}`;
    $("a-label").textContent = state.labelA;
    render();
  });
  $("clear-a").addEventListener("click", () => { state.curveA = null; $("a-label").textContent = ""; render(); });
  $("download").addEventListener("click", () => send({ type: "download" }));
  $("copy-python").addEventListener("click", () => send({ type: "python" }));
  $("share").addEventListener("click", () => {
    if (navigator.clipboard) navigator.clipboard.writeText(location.href).catch(() => {});
  });
  $("numbers-show").addEventListener("click", showOneStep);
}

wire();
showError("");
connect();
