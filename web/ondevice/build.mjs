// Build the on-device page into ../../poxscan/web/ondevice_dist (served by `poxscan serve` at
// /ondevice/ and copied by `poxscan export-web`): the bundled app, its static files and the
// LiteRT.js WebAssembly runtime from node_modules. Run `npm ci && npm run build` here.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "poxscan", "web", "ondevice_dist");
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "wasm"), { recursive: true });
await build({
  entryPoints: [join(here, "src", "main.js")],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2022",
  outfile: join(out, "app.js"),
  logLevel: "warning",
});
for (const name of ["index.html", "style.css", "icon.svg", "manifest.webmanifest", "sw.js"]) {
  cpSync(join(here, "src", name), join(out, name));
}
const wasm = join(here, "node_modules", "@litertjs", "core", "wasm");
// The plain and the compatibility (no relaxed SIMD) builds; LiteRT.js picks one at run time.
for (const name of ["litert_wasm_internal", "litert_wasm_compat_internal"]) {
  for (const ext of [".js", ".wasm"]) cpSync(join(wasm, name + ext), join(out, "wasm", name + ext));
}
const pkg = JSON.parse(readFileSync(join(here, "node_modules", "@litertjs", "core", "package.json")));
writeFileSync(join(out, "BUILD.json"), JSON.stringify({ "@litertjs/core": pkg.version, built: new Date().toISOString() }) + "\n");
console.log(`built ${out}`);
