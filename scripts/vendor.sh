#!/usr/bin/env bash
# Regenerate webui/static/vendor/ from the npm registry.
#
# Usage:  bash scripts/vendor.sh
#
# Needs: bash, node + npm (only to run this script; the app itself never needs
# Node), tar, sha256sum. No bundler: only the packages' prebuilt dist files are
# copied. Every package is pinned to an exact version AND to the tarball
# integrity the registry published for it, so a re-run either reproduces
# webui/static/vendor/ byte for byte or fails loudly.
#
# To upgrade a package: change its version in PACKAGES below, run
#   npm view <pkg>@<version> dist.integrity
# paste the new integrity, check FILES still matches the package layout, re-run.
set -euo pipefail
export LC_ALL=C
umask 022

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/webui/static/vendor"

# name | exact version | npm tarball integrity (sha512) | license (SPDX or note)
PACKAGES=(
  "bootstrap|5.3.9|sha512-20cU0rcfw8WdxtVbmfU+xT2EjvVTw9Ror/h1Qvd7DXCujRg8OO9mdBCsmTHdJFf3BuadmBNJtgIuUXsBqSkk/w==|MIT"
  "bootstrap-icons|1.13.2|sha512-fAU1Ly3dH7hwRg+CB8EZ0Vl0fF80zgXHeUVJyfUOKzoURr+TbwISbCW5tKUoQLERaWYG2emTCybcPbD96hdD1A==|MIT"
  "bpmn-js|18.31.1|sha512-Hc7LzrgwfcBRUAdI/380Q2v1MJ115atGEVGadawLfDbHdo+r+IkmNj8fuYPFmWglUYt1KYIaC46OeX16HGTKQw==|bpmn.io license (MIT + keep the bpmn.io watermark visible)"
  "dmn-js|17.10.2|sha512-AIONwKnrDoIIfVwv7iLmNNLKcF6bcKf1fkoB9euEyhaOTbi6p/InCoVQWitVqCrBXqw3aCpNCuql71xj79penQ==|bpmn.io license (MIT + keep the bpmn.io watermark visible)"
  "chart.js|4.6.1|sha512-hJyniucsFmq//EvXYvJ6c6mahPoI3kaxdjVH8awTaJ/fDNWeSqqqArixMJWkWNN6fcYvPU3HneSANFNYtRi61g==|MIT"
  "swagger-ui-dist|5.36.0|sha512-Lt6/Kb0gXmLdiabLhvso4VdJP9V7qJWB0zh0gzeXUV3+CMOTzMmvpJRSXN7EAjfwixwmoi9ezDbLHiexC7lA9A==|Apache-2.0"
  "axe-core|4.14.1|sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==|MPL-2.0"
)

# name | source path inside the tarball's package/ | destination under vendor/<name>/
# A source ending in "/" is a directory, copied recursively with its layout.
FILES=(
  "bootstrap|dist/css/bootstrap.min.css|bootstrap.min.css"
  "bootstrap|dist/js/bootstrap.bundle.min.js|bootstrap.bundle.min.js"
  "bootstrap|LICENSE|LICENSE"

  "bootstrap-icons|font/bootstrap-icons.min.css|bootstrap-icons.min.css"
  "bootstrap-icons|font/fonts/bootstrap-icons.woff2|fonts/bootstrap-icons.woff2"
  "bootstrap-icons|font/fonts/bootstrap-icons.woff|fonts/bootstrap-icons.woff"
  "bootstrap-icons|LICENSE|LICENSE"

  "bpmn-js|dist/bpmn-navigated-viewer.production.min.js|bpmn-navigated-viewer.production.min.js"
  "bpmn-js|dist/bpmn-modeler.production.min.js|bpmn-modeler.production.min.js"
  "bpmn-js|dist/assets/|assets/"
  "bpmn-js|LICENSE|LICENSE"

  "dmn-js|dist/dmn-viewer.production.min.js|dmn-viewer.production.min.js"
  "dmn-js|dist/dmn-navigated-viewer.production.min.js|dmn-navigated-viewer.production.min.js"
  "dmn-js|dist/dmn-modeler.production.min.js|dmn-modeler.production.min.js"
  "dmn-js|dist/assets/|assets/"
  "dmn-js|LICENSE|LICENSE"

  "chart.js|dist/chart.umd.min.js|chart.umd.min.js"
  "chart.js|LICENSE.md|LICENSE.md"

  "swagger-ui-dist|swagger-ui-bundle.js|swagger-ui-bundle.js"
  "swagger-ui-dist|swagger-ui-bundle.js.LICENSE.txt|swagger-ui-bundle.js.LICENSE.txt"
  "swagger-ui-dist|swagger-ui.css|swagger-ui.css"
  "swagger-ui-dist|LICENSE|LICENSE"
  "swagger-ui-dist|NOTICE|NOTICE"

  "axe-core|axe.min.js|axe.min.js"
  "axe-core|LICENSE|LICENSE"
)

die() { echo "vendor.sh: error: $*" >&2; exit 1; }
for tool in node npm tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is required"
done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/pmoflow-vendor.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
OUT="$TMP/out"          # staged vendor/ tree; swapped in only when all is well
mkdir -p "$OUT" "$TMP/tgz" "$TMP/src"
: > "$TMP/manifest.tsv" # kind \t package \t fields...

copy_one() { # src dst
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2"
  chmod 0644 "$2"
}

i=0
n=${#PACKAGES[@]}
for entry in "${PACKAGES[@]}"; do
  IFS='|' read -r name version integrity license <<<"$entry"
  i=$((i + 1))
  printf '[%d/%d] %-16s %-9s ' "$i" "$n" "$name" "$version"

  # 1. fetch the exact tarball
  ( cd "$TMP/tgz" && npm pack "$name@$version" --ignore-scripts --silent \
      --no-audit --no-fund >"$TMP/pack.out" 2>"$TMP/pack.err" ) \
    || { echo; cat "$TMP/pack.err" >&2; die "npm pack $name@$version failed"; }
  tgz="$TMP/tgz/$(tail -n 1 "$TMP/pack.out")"
  [ -f "$tgz" ] || die "npm pack did not produce a tarball for $name@$version"

  # 2. verify it against the pinned integrity
  read -r got_integrity got_shasum < <(node -e '
    const c = require("crypto"), b = require("fs").readFileSync(process.argv[1]);
    console.log("sha512-" + c.createHash("sha512").update(b).digest("base64"),
                c.createHash("sha1").update(b).digest("hex"));' "$tgz")
  [ "$got_integrity" = "$integrity" ] \
    || { echo; die "$name@$version integrity mismatch: got $got_integrity, pinned $integrity"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' pkg "$name" "$version" "$integrity" "$got_shasum" "$license" >>"$TMP/manifest.tsv"

  # 3. unpack and copy the selected files
  src="$TMP/src/$name"
  mkdir -p "$src"
  tar -xzf "$tgz" -C "$src"
  src="$src/package"
  dst="$OUT/$name"
  count=0
  for f in "${FILES[@]}"; do
    IFS='|' read -r fname from to <<<"$f"
    [ "$fname" = "$name" ] || continue
    if [[ "$from" == */ ]]; then
      [ -d "$src/$from" ] || die "$name@$version: missing directory $from"
      while IFS= read -r rel; do
        copy_one "$src/$from$rel" "$dst/$to$rel"
        count=$((count + 1))
      done < <(cd "$src/$from" && find . -type f -printf '%P\n' | sort)
    else
      [ -f "$src/$from" ] || die "$name@$version: missing file $from"
      copy_one "$src/$from" "$dst/$to"
      count=$((count + 1))
    fi
  done
  bytes=$(du -sb "$dst" | cut -f1)
  printf '%3d files %6d KiB  ok\n' "$count" $(((bytes + 1023) / 1024))

  # 4. record sha256 of everything copied
  while IFS= read -r rel; do
    sum=$(sha256sum "$dst/$rel" | cut -d' ' -f1)
    size=$(stat -c %s "$dst/$rel")
    printf '%s\t%s\t%s\t%s\t%s\n' file "$name" "$rel" "$sum" "$size" >>"$TMP/manifest.tsv"
  done < <(cd "$dst" && find . -type f -printf '%P\n' | sort)
done

# MANIFEST.json (stable key order, no timestamps => deterministic)
node -e '
  const fs = require("fs");
  const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map(l => l.split("\t"));
  const pkgs = [];
  for (const r of rows) {
    if (r[0] === "pkg") {
      pkgs.push({ package: r[1], version: r[2], tarball: `${r[1]}-${r[2]}.tgz`,
                  integrity: r[3], shasum: r[4], license: r[5], files: [] });
    } else {
      pkgs.find(p => p.package === r[1]).files.push(
        { path: `${r[1]}/${r[2]}`, sha256: r[3], size: Number(r[4]) });
    }
  }
  const manifest = { generated_by: "scripts/vendor.sh", registry: "npm", packages: pkgs };
  fs.writeFileSync(process.argv[2], JSON.stringify(manifest, null, 2) + "\n");
' "$TMP/manifest.tsv" "$OUT/MANIFEST.json"

ver() { for e in "${PACKAGES[@]}"; do IFS='|' read -r a b _ <<<"$e"; [ "$a" = "$1" ] && echo "$b"; done; }

cat >"$OUT/README.md" <<EOF
# Vendored front-end libraries

Generated by \`scripts/vendor.sh\`; do not edit by hand. These are the
packages' own prebuilt browser files, copied unchanged from the npm registry
tarballs (no bundler, no Node needed at run time, no CDN). \`MANIFEST.json\`
lists each package's version, tarball integrity/shasum and the sha256 of
every file copied here.

Regenerate (deterministic; a re-run gives identical files):

    bash scripts/vendor.sh

To upgrade, edit the pinned version *and* integrity in \`scripts/vendor.sh\`
(\`npm view <pkg>@<version> dist.integrity\`) and re-run.

| package | version | license | files (URL prefix \`/static/vendor/\`) | global |
| --- | --- | --- | --- | --- |
| bootstrap | $(ver bootstrap) | MIT (bundle includes Popper, MIT) | \`bootstrap/bootstrap.min.css\`, \`bootstrap/bootstrap.bundle.min.js\` | \`window.bootstrap\` |
| bootstrap-icons | $(ver bootstrap-icons) | MIT | \`bootstrap-icons/bootstrap-icons.min.css\` (+ \`fonts/\`) | - (CSS: \`<i class="bi bi-gear"></i>\`) |
| bpmn-js | $(ver bpmn-js) | bpmn.io license | \`bpmn-js/bpmn-navigated-viewer.production.min.js\`, \`bpmn-js/bpmn-modeler.production.min.js\`, \`bpmn-js/assets/...\` | \`window.BpmnJS\` |
| dmn-js | $(ver dmn-js) | bpmn.io license | \`dmn-js/dmn-viewer.production.min.js\`, \`dmn-js/dmn-navigated-viewer.production.min.js\`, \`dmn-js/dmn-modeler.production.min.js\`, \`dmn-js/assets/...\` | \`window.DmnJS\` |
| chart.js | $(ver chart.js) | MIT | \`chart.js/chart.umd.min.js\` | \`window.Chart\` |
| swagger-ui-dist | $(ver swagger-ui-dist) | Apache-2.0 (NOTICE kept; bundled libraries: \`swagger-ui-bundle.js.LICENSE.txt\`) | \`swagger-ui-dist/swagger-ui-bundle.js\`, \`swagger-ui-dist/swagger-ui.css\` | \`window.SwaggerUIBundle\` |
| axe-core | $(ver axe-core) | MPL-2.0 (unchanged upstream file; source at github.com/dequelabs/axe-core) | \`axe-core/axe.min.js\` (browser tests only: injected by the accessibility test, no page loads it) | \`window.axe\` |

Each package folder holds its upstream LICENSE file.

## CSS each library needs

- Bootstrap: \`bootstrap/bootstrap.min.css\`; icons: \`bootstrap-icons/bootstrap-icons.min.css\`
  (loads \`fonts/bootstrap-icons.woff2\` relative to itself).
- bpmn-js (viewer and modeler): \`bpmn-js/assets/diagram-js.css\`, \`bpmn-js/assets/bpmn-js.css\`,
  and for the modeler's palette / context pad icons \`bpmn-js/assets/bpmn-font/css/bpmn.css\`.
- dmn-js: \`dmn-js/assets/diagram-js.css\`, \`dmn-js/assets/dmn-js-shared.css\`,
  \`dmn-js/assets/dmn-js-drd.css\`, \`dmn-js/assets/dmn-js-decision-table.css\`,
  \`dmn-js/assets/dmn-js-literal-expression.css\`, \`dmn-js/assets/dmn-js-boxed-expression.css\`,
  \`dmn-js/assets/dmn-font/css/dmn.css\`; the modeler also needs
  \`dmn-js/assets/dmn-js-decision-table-controls.css\` and
  \`dmn-js/assets/dmn-js-boxed-expression-controls.css\`.

## Notes

- Every bpmn-js bundle assigns \`window.BpmnJS\` and every dmn-js bundle assigns
  \`window.DmnJS\`: load only one bundle of each library per page (or save
  \`window.BpmnJS\` into another name before loading the second one).
- The minified files end with a \`sourceMappingURL\` comment; the .map files are
  not vendored, so only an open DevTools asks for them (404, harmless).
- bpmn-js: \`new BpmnJS({ container: '#canvas' })\`, then
  \`await viewer.importXML(xml)\` (returns \`{ warnings }\`, throws on bad XML) and
  \`viewer.get('canvas').zoom('fit-viewport')\`. The navigated viewer adds
  mouse-wheel zoom and drag-to-pan; the modeler adds palette, context pad and
  \`saveXML({ format: true })\`. The container needs an explicit height.
- dmn-js: after \`importXML\` the first view (the DRD, when the file has one) is
  shown. To show a decision table directly:
  \`await dmn.open(dmn.getViews().find(v => v.type === 'decisionTable'))\`
  (other view types: \`drd\`, \`literalExpression\`, \`boxedExpression\`).
- dmn-js bundles (all three) log \`console.info("Inferno is in development mode.")\`
  and one \`console.error("It looks like you're using a minified copy of the
  development build of Inferno...")\` when the script loads: an upstream
  packaging issue (bpmn-io/dmn-js#965), harmless; the files are kept unchanged.
- swagger-ui-dist (the API docs page, \`/api/v1/docs\`): \`SwaggerUIBundle({ url, dom_id })\`
  from a static script (the CSP allows no inline script); it needs no \`unsafe-eval\`.
- bpmn.io license: the bpmn.io watermark drawn in the canvas corner must stay
  visible and not be covered by other elements.
EOF

# swap the staged tree in
rm -rf "$VENDOR"
mkdir -p "$VENDOR"
cp -R "$OUT/." "$VENDOR/"
total=$(du -sb "$VENDOR" | cut -f1)
echo "wrote ${VENDOR#"$ROOT"/} ($(find "$VENDOR" -type f | wc -l) files, $(((total + 1023) / 1024)) KiB)"
