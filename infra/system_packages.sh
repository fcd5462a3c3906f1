#!/usr/bin/env bash
# The Debian packages the tests need beyond Python, installed when missing: `make test` and .ci/run call
# this, so a fresh machine needs nothing by hand. As root it runs apt-get; otherwise it prints the one
# command to run and stops.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt_packages=(
  poppler-utils      # pdfsig, pdftotext, pdftoppm: the independent PDF signature check
  libnss3-tools      # certutil: trust the bureau root in pdfsig's NSS database
  fonts-wqy-zenhei   # CJK font used by tests that render documents to OCR
  chromium           # headless browser for the web page e2e tests (Playwright drives /usr/bin/chromium)
  libgl1             # libGL.so.1 for opencv-contrib-python, which paddleocr pins (the paddle engine's tests)
  libglib2.0-0       # libglib/libgthread for the same OpenCV build
)
command -v dpkg >/dev/null || { echo "system packages: not a Debian-based system; install the equivalents of: ${apt_packages[*]}"; exit 1; }
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing: ${missing[*]}"
  echo "run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  exit 1
fi
echo "installing system packages: ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
