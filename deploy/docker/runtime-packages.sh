#!/usr/bin/env bash
# Prints, one a line and sorted, the Debian packages that own the shared libraries the given
# ELF files (binaries, job .so files) load, so that the image's runtime stage installs exactly
# the runtime libraries and no -dev package. Fails, naming the library, when a needed library
# is missing or belongs to no package (e.g. one built from source into /usr/local).
# Usage: runtime-packages.sh FILE...
set -euo pipefail
(($#)) || { echo "usage: $0 FILE..." >&2; exit 2; }

libs=$(
  for f in "$@"; do
    [[ -f "$f" ]] || { echo "runtime-packages: no such file: $f" >&2; exit 1; }
    out=$(ldd "$f") || { echo "runtime-packages: ldd failed on $f" >&2; exit 1; }
    if grep -q "not found" <<<"$out"; then
      echo "runtime-packages: $f needs a library that is not installed:" >&2
      grep "not found" <<<"$out" >&2
      exit 1
    fi
    awk '$2 == "=>" && $3 ~ /^\// {print $3}' <<<"$out"
  done | sort -u
)

# Debian 12 is usr-merged: dpkg may know a file under /lib or under /usr/lib, by its own name
# or by its symlink's target. Ask dpkg once about every variant (a query per file is slow).
declare -A variants=()
all_variants=()
for lib in $libs; do
  real=$(readlink -f "$lib")
  v=""
  for p in "$lib" "$real"; do v+=" /usr${p#/usr} ${p#/usr}"; done
  variants[$lib]=$v
  read -r -a vs <<<"$v"
  all_variants+=("${vs[@]}")
done
declare -A owner_of=()
while IFS= read -r line; do
  [[ "$line" == *": /"* && "$line" != diversion* ]] || continue
  pkg=${line%%: /*}
  pkg=${pkg%%,*}   # a file shared by several packages: any one of them brings it
  owner_of[/${line#*: /}]=${pkg%%:*}
done < <(dpkg-query -S "${all_variants[@]}" 2>/dev/null || true)

for lib in $libs; do
  owner=""
  for p in ${variants[$lib]}; do
    [[ -n "${owner_of[$p]:-}" ]] && { owner=${owner_of[$p]}; break; }
  done
  [[ -n "$owner" ]] || { echo "runtime-packages: no Debian package owns $lib" >&2; exit 1; }
  echo "$owner"
done | sort -u
