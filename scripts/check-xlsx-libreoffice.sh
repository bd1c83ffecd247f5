#!/bin/sh
# Opens a postcall .xlsx report in LibreOffice Calc (headless), the way a spreadsheet user
# would, and checks that every sheet shows what the report says: unicode intact, numbers,
# booleans and dates typed and formatted, text that looks like a formula shown as text.
# Then shows, for comparison, the same report as CSV through LibreOffice's default import.
#
# Not part of CI (it needs LibreOffice, about 300 MB). On Debian/Ubuntu:
#   apt-get install -y --no-install-recommends libreoffice-calc
# Run from anywhere: scripts/check-xlsx-libreoffice.sh
#
# Input:    tests/fixtures/xlsx/unicode.report.json (invented calls whose ids are
#           Müller-ß, Tamil, Japanese and Zoë;Ünal,"q")
# Expected: tests/fixtures/xlsx/libreoffice/{Calls,Metrics,Summary}.csv, each sheet as
#           LibreOffice shows it ("save cell contents as shown"), exported as UTF-8 CSV.
# Exit 0 when every sheet matches, 1 when one differs (the diff is printed), 2 when
# LibreOffice is missing.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)

if ! command -v soffice >/dev/null 2>&1; then
    echo "soffice not found; install LibreOffice Calc: apt-get install -y --no-install-recommends libreoffice-calc" >&2
    exit 2
fi

cargo build --quiet --locked --bin postcall
postcall="${CARGO_TARGET_DIR:-$root/target}/debug/postcall"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fixture="$root/tests/fixtures/xlsx/unicode.report.json"
expected="$root/tests/fixtures/xlsx/libreoffice"

"$postcall" convert "$fixture" -o "$work/report.xlsx" -o "$work/report.csv"
"$postcall" convert "$fixture" -o "$work/report-bom.csv" --csv-bom

# A private profile, so the check neither reads nor changes the user's LibreOffice settings.
profile="-env:UserInstallation=file://$work/profile"
# Export filter options: comma, double quote, UTF-8 (76), line 1, default formats, default
# language, quote only where needed, detect numbers, save cells as shown, no formulas,
# keep spaces, every sheet (-1: one file per sheet, report-<Sheet>.csv).
export_as_shown='csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1'
soffice "$profile" --headless --convert-to "$export_as_shown" --outdir "$work/lo" "$work/report.xlsx" \
    >"$work/soffice.log" 2>&1 || { cat "$work/soffice.log" >&2; exit 1; }

status=0
for sheet in Calls Metrics Summary; do
    got="$work/lo/report-$sheet.csv"
    if [ ! -f "$got" ]; then
        echo "FAIL $sheet: LibreOffice wrote no $sheet sheet" >&2
        status=1
    elif diff -u "$expected/$sheet.csv" "$got" >"$work/diff" 2>&1; then
        echo "ok   $sheet: $(($(wc -l <"$got") - 1)) rows as LibreOffice shows them, identical to $expected/$sheet.csv"
    else
        echo "FAIL $sheet: LibreOffice shows something else:" >&2
        cat "$work/diff" >&2
        status=1
    fi
done
if [ -f "$work/lo/report-Calls.csv" ]; then
    echo "     the first call id in the workbook, as LibreOffice shows it: $(sed -n 2p "$work/lo/report-Calls.csv" | cut -d, -f1)"
fi

# For comparison (not checked): the CSV reports through LibreOffice's default CSV import.
echo
echo "for comparison, the CSV report through LibreOffice's default CSV import:"
for csv in report report-bom; do
    soffice "$profile" --headless --convert-to 'csv:Text - txt - csv (StarCalc):44,34,76' \
        --outdir "$work/lo-csv" "$work/$csv.csv" >"$work/soffice.log" 2>&1 || { cat "$work/soffice.log" >&2; exit 1; }
    echo "     $csv.csv: header starts $(head -1 "$work/lo-csv/$csv.csv" | cut -d, -f1), first call id $(sed -n 2p "$work/lo-csv/$csv.csv" | cut -d, -f1)"
done
exit $status
