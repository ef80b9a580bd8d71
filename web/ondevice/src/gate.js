// The input gate on the device: what poxscan.pipelines.gate does on the server, in JavaScript.
// Every threshold, message and the reference data come from model/gate.json and its binary
// files (poxscan.pipelines.browser_gate), so the page refuses what the server refuses, with the
// same reason code, message and advice, and shows no probability for it.
//   1. pixel checks (poxscan.core.image_checks) on the 224 px square of the photo (grey levels,
//      and the share of its pixels in the YCrCb skin region);
//   2. the int8 embedding's mean cosine distance to its k nearest training photos against the
//      conformal threshold, and the backbone's ImageNet head's screen classes.

// IEEE half -> float (the ImageNet head is stored as float16, as the server holds it).
export function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

// Load model/gate.json and its binary files (relative to `base`).
export async function loadGate(base) {
  const spec = await (await fetch(new URL("gate.json", base))).json();
  const emb = spec.embedding;
  if (emb) {
    emb.referenceData = new Float32Array(await fetchBytes(new URL(emb.reference, base)));
    if (emb.referenceData.length !== emb.n_reference * emb.dim) {
      throw new Error("gate reference data has the wrong size");
    }
    if (emb.head) {
      const raw = new Uint16Array(await fetchBytes(new URL(emb.head.weights, base)));
      const w = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) w[i] = halfToFloat(raw[i]);
      emb.head.w = w;
      emb.head.b = new Float32Array(await fetchBytes(new URL(emb.head.bias, base)));
    }
  }
  return spec;
}

// cv2.cvtColor(RGB2GRAY) of uint8 pixels: OpenCV's 15-bit fixed-point weights, rounded.
function grey(square, side) {
  const g = new Float64Array(side * side);
  for (let i = 0, j = 0; i < g.length; i++, j += 3) {
    g[i] = (square[j] * 9798 + square[j + 1] * 19235 + square[j + 2] * 3735 + 16384) >> 15;
  }
  return g;
}

// image_checks.skin_share: OpenCV's 8-bit RGB -> YCrCb (14-bit fixed point, rounded,
// saturated), then the share of pixels with Cr and Cb inside the skin region (inclusive).
function skinShare(square, side, rules) {
  const n = side * side;
  const half = 1 << 13;
  const delta = 128 << 14;
  const sat = (v) => (v < 0 ? 0 : v > 255 ? 255 : v);
  const [crLo, crHi] = rules.skin_cr;
  const [cbLo, cbHi] = rules.skin_cb;
  let inside = 0;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const r = square[j];
    const b = square[j + 2];
    const y = (r * 4899 + square[j + 1] * 9617 + b * 1868 + half) >> 14;
    const cr = sat(((r - y) * 11682 + delta + half) >> 14);
    const cb = sat(((b - y) * 9241 + delta + half) >> 14);
    if (cr >= crLo && cr <= crHi && cb >= cbLo && cb <= cbHi) inside++;
  }
  return inside / n;
}

function meanStd(values) {
  let m = 0;
  for (const v of values) m += v;
  m /= values.length;
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return [m, Math.sqrt(s / values.length)];
}

// numpy.percentile (linear interpolation) and numpy.median of a small array.
function percentile(values, q) {
  const a = Float64Array.from(values).sort();
  const pos = (q / 100) * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, a.length - 1);
  return a[lo] + (pos - lo) * (a[hi] - a[lo]);
}

// cv2.Laplacian(grey, CV_64F) (3x3 aperture, reflect-101 border): its variance.
function laplacianVar(g, side) {
  const at = (y, x) => {
    const yy = y < 0 ? -y : y >= side ? 2 * side - 2 - y : y;
    const xx = x < 0 ? -x : x >= side ? 2 * side - 2 - x : x;
    return g[yy * side + xx];
  };
  const lap = new Float64Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      lap[y * side + x] = at(y - 1, x) + at(y + 1, x) + at(y, x - 1) + at(y, x + 1) - 4 * at(y, x);
    }
  }
  const [, std] = meanStd(lap);
  return std * std;
}

// The grey square as rows of (grey) and of its transpose.
function lines(g, side, transpose) {
  const out = [];
  for (let r = 0; r < side; r++) {
    const row = new Float64Array(side);
    for (let c = 0; c < side; c++) row[c] = transpose ? g[c * side + r] : g[r * side + c];
    out.push(row);
  }
  return out;
}

// image_checks._seam_score: strongest full-length row step against the rows around it.
function seamScore(g, side, rules) {
  let best = 0;
  for (const transpose of [false, true]) {
    const rows = lines(g, side, transpose);
    const line = [];
    for (let r = 0; r + 1 < side; r++) {
      const steps = new Float64Array(side);
      for (let c = 0; c < side; c++) steps[c] = Math.abs(rows[r + 1][c] - rows[r][c]);
      line.push(percentile(steps, 25));
    }
    const lo = Math.trunc(rules.central[0] * line.length);
    const hi = Math.trunc(rules.central[1] * line.length);
    for (let i = Math.max(lo, 7); i < Math.min(hi, line.length - 7); i++) {
      if (line[i] < rules.seam_min) continue;
      const around = [...line.slice(i - 6, i - 1), ...line.slice(i + 2, i + 7)];
      best = Math.max(best, line[i] / (percentile(around, 50) + 0.5));
    }
  }
  return best;
}

// image_checks._neighbour_correlation: 1 - (larger mean squared neighbour difference) / 2 var.
function neighbourCorrelation(g, side, variance) {
  let h = 0;
  let v = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x + 1 < side; x++) {
      const d = g[y * side + x + 1] - g[y * side + x];
      h += d * d;
    }
  }
  for (let y = 0; y + 1 < side; y++) {
    for (let x = 0; x < side; x++) {
      const d = g[(y + 1) * side + x] - g[y * side + x];
      v += d * d;
    }
  }
  const n = side * (side - 1);
  return 1 - Math.max(h / n, v / n) / (2 * Math.max(variance, 1e-12));
}

// image_checks._gutter_share: flat interior rows/columns between content, central part only.
function gutterShare(g, side, rules) {
  let share = 0;
  for (const transpose of [false, true]) {
    const flat = lines(g, side, transpose).map((row) => meanStd(row)[1] < rules.gutter_std);
    const content = [];
    flat.forEach((f, i) => { if (!f) content.push(i); });
    if (content.length < 2) continue;
    const lo = Math.trunc(rules.central[0] * side);
    const hi = Math.trunc(rules.central[1] * side);
    let n = 0;
    for (let i = Math.max(content[0], lo); i <= Math.min(content[content.length - 1], hi - 1); i++) {
      if (flat[i]) n++;
    }
    share = Math.max(share, n / Math.max(hi - lo, 1));
  }
  return share;
}

function refuse(gate, code, checks) {
  const { message, advice } = gate.reasons[code];
  return { screenable: false, code, message, advice, checks };
}

const OK = (checks) => ({ screenable: true, code: "ok", message: "", advice: "", checks });

// Pixel checks of a decoded photo (`width`, `height`) given its 224 px RGB square (0..255).
export function checkPixels(gate, width, height, square) {
  const r = gate.pixel;
  if (Math.min(width, height) < r.min_side) {
    return refuse(gate, "too_small", { height, width, min_side: r.min_side });
  }
  const side = r.side;
  const g = grey(square, side);
  const [mean, std] = meanStd(g);
  let dark = 0;
  let bright = 0;
  for (const v of g) {
    if (v < 40) dark++;
    if (v > 235) bright++;
  }
  const s = {
    height, width, grey_mean: mean, grey_std: std,
    dark_share: dark / g.length, bright_share: bright / g.length,
    laplacian_var: laplacianVar(g, side),
    seam_ratio: seamScore(g, side, r),
    gutter_share: gutterShare(g, side, r),
    neighbour_correlation: neighbourCorrelation(g, side, std * std),
    skin_share: skinShare(square, side, r),
    min_side: r.min_side,
  };
  if (s.grey_std < r.flat_std) return refuse(gate, "blank", s);
  if (s.grey_mean < r.dark_mean && s.dark_share > r.dark_share) return refuse(gate, "too_dark", s);
  if (s.grey_mean > r.bright_mean && s.bright_share > r.bright_share) {
    return refuse(gate, "too_bright", s);
  }
  if (s.grey_std < r.blank_std) return refuse(gate, "blank", s);
  if (s.seam_ratio >= r.seam_ratio || s.gutter_share >= r.gutter_share) {
    return refuse(gate, "collage", s);
  }
  if (s.neighbour_correlation < r.noise_corr || s.skin_share < r.skin_floor) {
    return refuse(gate, "not_skin", s);
  }
  if (s.laplacian_var < r.blur_var) return refuse(gate, "too_blurry", s);
  return OK(s);
}

// The embedding stage (after the pixel checks passed): distance and ImageNet head.
export function checkEmbedding(gate, embedding, checks) {
  const emb = gate.embedding;
  if (!emb) return OK(checks);
  const d = emb.dim;
  let norm = 0;
  for (let i = 0; i < d; i++) norm += embedding[i] * embedding[i];
  norm = Math.max(Math.sqrt(norm), 1e-12);
  const dist = new Float64Array(emb.n_reference);
  const ref = emb.referenceData;
  for (let r = 0; r < emb.n_reference; r++) {
    let dot = 0;
    const off = r * d;
    for (let i = 0; i < d; i++) dot += ref[off + i] * embedding[i];
    dist[r] = 1 - dot / norm;
  }
  dist.sort();
  const k = Math.min(emb.n_neighbors, emb.n_reference);
  let score = 0;
  for (let i = 0; i < k; i++) score += dist[i];
  score /= k;
  const out = { ...checks, distance: score, distance_threshold: emb.threshold };
  if (emb.head) {
    const { w, b, classes } = emb.head;
    const logits = Float64Array.from(b);
    for (let i = 0; i < d; i++) {
      const e = embedding[i];
      if (e === 0) continue;
      const off = i * classes;
      for (let j = 0; j < classes; j++) logits[j] += e * w[off + j];
    }
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    const p = logits.map((v) => Math.exp(v - max));
    for (const v of p) sum += v;
    let top = 0;
    for (let j = 0; j < classes; j++) if (p[j] > p[top]) top = j;
    let screen = 0;
    for (const c of Object.keys(emb.screen_classes)) screen += p[Number(c)] / sum;
    Object.assign(out, {
      imagenet_top: top,
      imagenet_top_probability: p[top] / sum,
      imagenet_screen_probability: screen,
    });
    if (screen >= emb.screen_probability
        || (score > emb.threshold && String(top) in emb.screen_classes)) {
      return refuse(gate, "collage", out);
    }
  }
  if (score > emb.threshold) return refuse(gate, "not_skin", out);
  return OK(out);
}
