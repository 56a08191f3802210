#!/usr/bin/env bash
# install-chromium.sh: installs Debian's chromium, which the browser test of
# the web page (edge/web) drives headless, when /usr/bin/chromium is
# missing and we are root; otherwise says why it did nothing. It never
# fails the build: without chromium the browser test fails with a message
# saying what to install (or skips under go test -short).
set -uo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
	echo "install-chromium: $CHROMIUM is there ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-chromium: skipped: $CHROMIUM is missing and we are not root; run 'apt-get install -y chromium' as root" >&2
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium: skipped: $CHROMIUM is missing and there is no apt-get; install Chromium at $CHROMIUM" >&2
	exit 0
fi
echo "install-chromium: installing Debian's chromium..." >&2
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; then
	echo "install-chromium: installed $("$CHROMIUM" --version 2>/dev/null)"
else
	echo "install-chromium: apt-get could not install chromium; the browser test will say so" >&2
fi
exit 0
