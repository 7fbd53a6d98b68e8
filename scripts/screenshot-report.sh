#!/usr/bin/env bash
# The demo's report as a browser shows it: opens report.html in headless Chromium and saves
# a screenshot, then checks what a reader would see wrong: an image that did not load, or a
# page wider than the window (something overflowing to the side).
#
#   scripts/screenshot-report.sh [REPORT_HTML] [OUT_PNG]
#       default: runs/demo/report/report.html (run `reponet demo` first) and
#       docs/demo-report.png, the picture README.md links to
#
# Needs Debian's `chromium` (apt-get install chromium). Width 1280 px, as a laptop's window.
set -euo pipefail
cd "$(dirname "$0")/.."
report=${1:-runs/demo/report/report.html}
out=${2:-docs/demo-report.png}
[ -f "$report" ] || { echo "error: $report: no such report (run \`reponet demo\` first)" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "error: no chromium on the PATH (apt-get install chromium)" >&2; exit 1; }
url="file://$(realpath "$report")"
flags=(--headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# What the page looks like once loaded: every image's natural width (0: it did not load)
# and the page's width against the window's, read from the DOM Chromium rendered.
probe="$tmp/probe.html"
cat > "$probe" <<HTML
<!doctype html><meta charset="utf-8"><body><pre id="out">waiting</pre>
<iframe id="page" src="$url" style="width:1280px;height:2400px;border:0"></iframe>
<script>
document.getElementById('page').onload = () => {
  const d = document.getElementById('page').contentDocument;
  const broken = [...d.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));
  const wide = d.documentElement.scrollWidth > d.documentElement.clientWidth;
  document.getElementById('out').textContent =
    'images ' + d.images.length + ' broken ' + JSON.stringify(broken) + ' overflow ' + wide;
};
</script>
HTML
dom=$("$browser" "${flags[@]}" --allow-file-access-from-files --virtual-time-budget=5000 \
    --dump-dom "file://$probe" 2>/dev/null)
result=$(printf '%s' "$dom" | sed -n 's/.*<pre id="out">\([^<]*\)<\/pre>.*/\1/p')
echo "report: $result"
"$browser" "${flags[@]}" --virtual-time-budget=5000 --screenshot="$out" "$url" 2>/dev/null
echo "wrote $out"
case "$result" in
    *'broken []'*'overflow false'*) ;;
    *) echo "error: the report does not render cleanly: $result" >&2; exit 1 ;;
esac
