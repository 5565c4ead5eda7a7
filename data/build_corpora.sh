#!/usr/bin/env bash
# Rebuilds the demo corpora under data/corpora/ from Debian packages.
#
#   bash data/build_corpora.sh            # download, extract, render, write data/corpora/
#
# Needs: apt-get (with Debian bookworm sources), dpkg-deb, groff (groff-base), col
# (bsdextrautils), python3 (standard library only). Package versions are pinned
# below so that a rebuild is byte-identical; the man-page text also depends on the
# groff version (recorded in SOURCES.md).
#
# Environment:
#   CORPORA_WORKDIR  reuse this directory for downloads/extraction (kept afterwards);
#                    default: a fresh temporary directory, removed at the end.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/corpora"

# Pinned packages (Debian 12 "bookworm"). fortunes-fr does not exist in Debian: French
# has no literary (fortune) source, so French text comes from manpages-fr only.
packages=(
  "manpages=6.03-2"
  "manpages-de=4.18.1-1"
  "manpages-fr=4.18.1-1"
  "manpages-es=4.18.1-1"
  "manpages-it=4.18.1-1"
  "manpages-ru=4.18.1-1"
  "manpages-pl=1:4.18.1-1"
  "manpages-zh=1.6.4.0-1"
  "fortunes-min=1:1.99.1-7.3"
  "fortunes-de=0.35-1"
  "fortunes-es=1.36"
  "fortunes-it=1.99-4.1"
  "fortunes-ru=1.52-3.1"
  "fortunes-pl=0.0.20130525-3"
  "fortunes-zh=2.98"
)

for tool in apt-get dpkg-deb groff col python3; do
  command -v "$tool" >/dev/null || { echo "build_corpora: '$tool' not found" >&2; exit 1; }
done

if [[ -n "${CORPORA_WORKDIR:-}" ]]; then
  work="$CORPORA_WORKDIR"; mkdir -p "$work"
else
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/debs" "$work/root"

for spec in "${packages[@]}"; do
  name="${spec%%=*}"
  if ! ls "$work/debs/${name}_"*.deb >/dev/null 2>&1; then
    policy="$(apt-cache policy "$name")"
    if ! grep -q 'Candidate: [^(]' <<<"$policy"; then
      echo "build_corpora: package $name is not available from apt" >&2; exit 1
    fi
    (cd "$work/debs" && apt-get download -q "$spec" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  fi
  deb="$(ls "$work/debs/${name}_"*.deb)"
  if [[ ! -d "$work/root/$name" ]]; then
    mkdir -p "$work/root/$name"
    dpkg-deb -x "$deb" "$work/root/$name"
  fi
done

# Record what was used: name, version, sha256 of the .deb, and the groff version.
: > "$work/packages.tsv"
for spec in "${packages[@]}"; do
  name="${spec%%=*}"
  deb="$(ls "$work/debs/${name}_"*.deb)"
  ver="$(dpkg-deb -f "$deb" Version)"
  sha="$(sha256sum "$deb" | cut -d' ' -f1)"
  printf '%s\t%s\t%s\n' "$name" "$ver" "$sha" >> "$work/packages.tsv"
done
groff --version | head -n 1 > "$work/groff-version.txt"

export LC_ALL=C.UTF-8 PYTHONHASHSEED=0
python3 "$here/build_corpora.py" --root "$work/root" --packages "$work/packages.tsv" \
  --groff-version "$work/groff-version.txt" --out "$out"
