// The on-device page: the lite model's int8 backbone runs here through LiteRT.js (WebAssembly
// CPU kernels), its linear head and calibration in plain JavaScript (model/head.json). The
// input gate (gate.js, model/gate.json) refuses what the server's gate refuses, with the same
// reason, before any probability. The photo is decoded and analysed in this page; nothing
// about it is sent anywhere.
import { loadLiteRt, loadAndCompile, Tensor } from "@litertjs/core";
import { checkEmbedding, checkPixels, loadGate } from "./gate.js";
import { d4View, poseIndex } from "./orientation.js";

const $ = (id) => document.getElementById(id);
const state = { model: null, head: null, gate: null };
window.poxscan = { ready: false, results: [] };

// Python's round(): halves to even (to_square rounds the resized side with it).
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// OpenCV's INTER_AREA weights along one axis (computeResizeAreaTab): [dst, src, weight].
function areaTable(ssize, dsize) {
  const scale = ssize / dsize;
  const tab = [];
  for (let dx = 0; dx < dsize; dx++) {
    const fsx1 = dx * scale;
    const fsx2 = fsx1 + scale;
    const cell = Math.min(scale, ssize - fsx1);
    let sx1 = Math.ceil(fsx1);
    let sx2 = Math.floor(fsx2);
    sx2 = Math.min(sx2, ssize - 1);
    sx1 = Math.min(sx1, sx2);
    if (sx1 - fsx1 > 1e-3) tab.push([dx, sx1 - 1, (sx1 - fsx1) / cell]);
    for (let sx = sx1; sx < sx2; sx++) tab.push([dx, sx, 1 / cell]);
    if (fsx2 - sx2 > 1e-3) tab.push([dx, sx2, Math.min(Math.min(fsx2 - sx2, 1), cell) / cell]);
  }
  return tab;
}

// Area (box) downscaling of RGB pixels, separable, as cv2.resize(..., INTER_AREA) does.
function resizeArea(rgb, w, h, nw, nh) {
  const tx = areaTable(w, nw);
  const ty = areaTable(h, nh);
  const rows = new Float32Array(h * nw * 3);
  for (let y = 0; y < h; y++) {
    const src = y * w * 3;
    const dst = y * nw * 3;
    for (const [dx, sx, wt] of tx) {
      for (let c = 0; c < 3; c++) rows[dst + dx * 3 + c] += wt * rgb[src + sx * 3 + c];
    }
  }
  const out = new Float32Array(nh * nw * 3);
  for (const [dy, sy, wt] of ty) {
    const src = sy * nw * 3;
    const dst = dy * nw * 3;
    for (let i = 0; i < nw * 3; i++) out[dst + i] += wt * rows[src + i];
  }
  const u8 = new Uint8ClampedArray(out.length);
  for (let i = 0; i < out.length; i++) u8[i] = roundHalfEven(out[i]);
  return u8;
}

// Decode a photo (EXIF orientation applied, no colour management, alpha on white) to RGB.
async function decode(file) {
  const bitmap = await createImageBitmap(file, {
    imageOrientation: "from-image",
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const rgb = new Uint8ClampedArray(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    const a = rgba[i + 3] / 255;
    for (let c = 0; c < 3; c++) rgb[j + c] = Math.round(rgba[i + c] * a + 255 * (1 - a));
  }
  return { rgb, width: bitmap.width, height: bitmap.height, bitmap };
}

// poxscan.core.imageio.to_square: shorter side to `size`, centre crop; float32 RGB 0..255.
function toSquare(img, size) {
  const { width: w, height: h } = img;
  const scale = size / Math.min(w, h);
  const nw = Math.max(size, roundHalfEven(w * scale));
  const nh = Math.max(size, roundHalfEven(h * scale));
  let pixels = img.rgb;
  if (nw !== w || nh !== h) {
    if (scale < 1) {
      pixels = resizeArea(img.rgb, w, h, nw, nh);
    } else {
      // Upscaling (photos smaller than the input): the browser's smooth scaling stands in for
      // OpenCV's bicubic; such photos are rare and already lack detail.
      const canvas = new OffscreenCanvas(nw, nh);
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(img.bitmap, 0, 0, nw, nh);
      const rgba = ctx.getImageData(0, 0, nw, nh).data;
      pixels = new Uint8ClampedArray(nw * nh * 3);
      for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
        pixels[j] = rgba[i];
        pixels[j + 1] = rgba[i + 1];
        pixels[j + 2] = rgba[i + 2];
      }
    }
  }
  const top = Math.floor((nh - size) / 2);
  const left = Math.floor((nw - size) / 2);
  const out = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const src = ((top + y) * nw + left) * 3;
    out.set(pixels.subarray(src, src + size * 3), y * size * 3);
  }
  return out;
}

// The decoded photo in its canonical pose (poxscan.features.orientation.canonical_pose), with
// a canvas of the turned pixels for toSquare's upscaling path.
function canonical(img) {
  const k = poseIndex(img.rgb, img.width, img.height);
  if (k === 0) return img;
  const view = d4View(img.rgb, img.width, img.height, k);
  const canvas = new OffscreenCanvas(view.width, view.height);
  const rgba = new ImageData(view.width, view.height);
  for (let i = 0, j = 0; j < view.rgb.length; i += 4, j += 3) {
    rgba.data[i] = view.rgb[j];
    rgba.data[i + 1] = view.rgb[j + 1];
    rgba.data[i + 2] = view.rgb[j + 2];
    rgba.data[i + 3] = 255;
  }
  canvas.getContext("2d").putImageData(rgba, 0, 0);
  return { ...view, bitmap: canvas };
}

function calibrate(score) {
  const { scores, probabilities } = state.head.calibration;
  if (score <= scores[0]) return probabilities[0];
  const last = scores.length - 1;
  if (score >= scores[last]) return probabilities[last];
  const step = scores[1] - scores[0];
  const i = Math.min(Math.floor((score - scores[0]) / step), last - 1);
  const t = (score - scores[i]) / (scores[i + 1] - scores[i]);
  return probabilities[i] + t * (probabilities[i + 1] - probabilities[i]);
}

function refusal(file, finding, t0) {
  return {
    file: file.name,
    refused: true,
    code: finding.code,
    message: finding.message,
    advice: finding.advice,
    gate: finding,
    elapsed_ms: performance.now() - t0,
  };
}

async function screen(file) {
  const t0 = performance.now();
  const img = await decode(file);
  const size = state.head.input_size;
  const side = state.gate.pixel.side;
  // The pixel checks need the 224 px square; below the minimum size no square is made at all.
  const tooSmall = Math.min(img.width, img.height) < state.gate.pixel.min_side;
  const square = tooSmall ? null : toSquare(img, size);
  const greySquare = tooSmall || side === size ? square : toSquare(img, side);
  const pixels = checkPixels(state.gate, img.width, img.height, greySquare);
  if (!pixels.screenable) {
    img.bitmap.close();
    return refusal(file, pixels, t0);
  }
  // A model trained on canonical poses sees the photo turned the way the server turns it:
  // the pose is chosen on the decoded photo, before it is fitted to the square.
  const seen = state.head.orient === "canonical" ? toSquare(canonical(img), size) : square;
  const input = new Tensor(seen, [1, size, size, 3]);
  const t1 = performance.now();
  const outputs = await state.model.run(input);
  input.delete();
  const embedding = outputs[0].toTypedArray();
  const t2 = performance.now();
  outputs.forEach((t) => t.delete());
  const finding = checkEmbedding(state.gate, embedding, pixels.checks);
  if (!finding.screenable) {
    img.bitmap.close();
    return refusal(file, finding, t0);
  }
  const { weights, bias, threshold } = state.head;
  let margin = bias;
  for (let i = 0; i < weights.length; i++) margin += weights[i] * embedding[i];
  const score = 1 / (1 + Math.exp(-margin));
  const probability = calibrate(score);
  const result = {
    file: file.name,
    probability,
    threshold,
    label: probability >= threshold ? "mpox" : "not_mpox",
    elapsed_ms: performance.now() - t0,
    backbone_ms: t2 - t1,
    gate: finding,
  };
  img.bitmap.close();
  return result;
}

function show(result) {
  if (result.refused) {
    // A refused photo gets its reason and what to do, never a probability or a label.
    $("result").hidden = true;
    $("refusal").hidden = false;
    $("refusal").dataset.code = result.code;
    $("refusal-message").textContent = result.message;
    $("refusal-advice").textContent = result.advice;
    return;
  }
  $("refusal").hidden = true;
  $("result").hidden = false;
  $("label").textContent = result.label === "mpox"
    ? "Looks like mpox: see a clinician"
    : "Does not look like mpox";
  $("probability").textContent = result.probability.toFixed(3);
  $("probability").dataset.probability = String(result.probability);
  $("threshold").textContent = result.threshold.toFixed(3);
  $("elapsed-ms").textContent = result.elapsed_ms.toFixed(0);
  $("backbone-ms").textContent = result.backbone_ms.toFixed(0);
}

async function start() {
  try {
    const head = await (await fetch("model/head.json")).json();
    state.head = head;
    $("disclaimer").textContent = head.disclaimer;
    $("model-id").textContent = head.model_id;
    state.gate = await loadGate(new URL("model/", document.baseURI));
    await loadLiteRt(new URL("wasm/", document.baseURI).href);
    state.model = await loadAndCompile(new URL("model/backbone.tflite", document.baseURI).href, {
      accelerator: "wasm",
    });
    if ("serviceWorker" in navigator) {
      await navigator.serviceWorker.register("sw.js");
      await navigator.serviceWorker.ready;
    }
    $("photo").disabled = false;
    $("status").textContent = "Ready: the model is on this device.";
    window.poxscan.ready = true;
  } catch (err) {
    $("status").textContent = "The model could not be loaded.";
    $("error").hidden = false;
    $("error").textContent = String(err);
    window.poxscan.error = String(err);
  }
}

$("photo").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  $("error").hidden = true;
  $("status").textContent = "Analysing on this device…";
  try {
    const result = await screen(file);
    window.poxscan.results.push(result);
    show(result);
    $("status").textContent = result.refused
      ? "Not screened (the photo stayed on this device)."
      : "Done (the photo stayed on this device).";
  } catch (err) {
    $("error").hidden = false;
    $("error").textContent = `${file.name}: could not be analysed (${err})`;
    window.poxscan.results.push({ file: file.name, error: String(err) });
  }
  event.target.value = "";
});

start();
