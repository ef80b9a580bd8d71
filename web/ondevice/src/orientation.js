// poxscan.features.orientation, for the page: of the eight turns and mirrors of the decoded
// photo, the backbone sees the one whose luminance dipole maximises 2 mx + my, so a turned or
// mirrored photo reaches it in the same pose. View k is np.rot90(image, k % 4), mirrored
// left-right when k >= 4; ties go to the lowest k, as numpy's argmax. Luma and moments are
// integers, as in Python (exact below 2^53, i.e. for photos up to several megapixels).

// The eight scores 2 x + y of the dipole (x, y) moved by each view; rgb: RGB bytes, row-major.
export function poseScores(rgb, width, height) {
  const cols = new Float64Array(width);
  const rows = new Float64Array(height);
  for (let r = 0, j = 0; r < height; r++) {
    let row = 0;
    for (let c = 0; c < width; c++, j += 3) {
      const luma = rgb[j] * 299 + rgb[j + 1] * 587 + rgb[j + 2] * 114;
      cols[c] += luma;
      row += luma;
    }
    rows[r] = row;
  }
  let mx = 0;
  let my = 0;
  for (let c = 0; c < width; c++) mx += cols[c] * (2 * c - (width - 1));
  for (let r = 0; r < height; r++) my += rows[r] * (2 * r - (height - 1));
  const n = width * height;
  const x0 = mx / (Math.max(width - 1, 1) * n);
  const y0 = my / (Math.max(height - 1, 1) * n);
  const scores = [];
  for (let k = 0; k < 8; k++) {
    let x = x0;
    let y = y0;
    for (let t = 0; t < k % 4; t++) [x, y] = [y, -x]; // a counter-clockwise quarter turn
    if (k >= 4) x = -x;
    scores.push(2 * x + y);
  }
  return scores;
}

export function poseIndex(rgb, width, height) {
  const scores = poseScores(rgb, width, height);
  let best = 0;
  for (let k = 1; k < 8; k++) if (scores[k] > scores[best]) best = k;
  return best;
}

// View k of an image: { rgb, width, height } of the turned (and mirrored) pixels.
export function d4View(rgb, width, height, k) {
  const turns = k % 4;
  const w = turns % 2 ? height : width;
  const h = turns % 2 ? width : height;
  const out = new rgb.constructor(rgb.length);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const jj = k >= 4 ? w - 1 - j : j; // the mirror comes after the turn
      let r;
      let c;
      switch (turns) {
        case 0: [r, c] = [i, jj]; break;
        case 1: [r, c] = [jj, width - 1 - i]; break;
        case 2: [r, c] = [height - 1 - i, width - 1 - jj]; break;
        default: [r, c] = [height - 1 - jj, i];
      }
      const src = (r * width + c) * 3;
      const dst = (i * w + j) * 3;
      out[dst] = rgb[src];
      out[dst + 1] = rgb[src + 1];
      out[dst + 2] = rgb[src + 2];
    }
  }
  return { rgb: out, width: w, height: h };
}
