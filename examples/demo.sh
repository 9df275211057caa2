#!/bin/sh
# The quick-start demo: dbe on a file written in 1995's classic layout.
set -e
DBE=${1:-dbe/dbe}
F=tests/fixtures/classic/l16_test.ndx
echo "\$ dbe info $F   (first lines)"
$DBE info "$F" | head -9
echo
echo "\$ dbe list $F -i 1 | head -5"
$DBE list "$F" -i 1 | head -5
echo
echo "\$ dbe find $F -i 1 ahscmx --all"
$DBE find "$F" -i 1 ahscmx --all
echo
echo "\$ dbe check $F"
$DBE check "$F"
