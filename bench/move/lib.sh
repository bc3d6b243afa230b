# Shared by bench.sh and import.sh: measure and row, over $work (a scratch folder) and $rows.
now() { date +%s.%N; }
# measure NAME CMD...: runs CMD under GNU time; sets secs and rss_mb.
measure() {
	local t0 t1
	t0=$(now)
	if ! /usr/bin/time -f "%M" -o "$work/rss" "$@" >"$work/out" 2>&1; then
		echo "$1 failed:" >&2; tail -20 "$work/out" >&2; secs=nan rss_mb=nan; return 0
	fi
	t1=$(now)
	secs=$(echo "$t1 - $t0" | bc -l)
	rss_mb=$(( $(tail -1 "$work/rss") / 1024 ))
}
row() { # NAME SECS RSS [FLOOR]
	if [[ $2 == nan ]]; then printf '| %s | failed | | | |\n' "$1"; return; fi
	local ratio=""
	[[ -n ${4:-} ]] && ratio=$(printf '%.2f' "$(echo "$2 / $4" | bc -l)")
	printf '| %s | %.2f | %.0f | %s | %s |\n' "$1" "$2" "$(echo "$rows / $2" | bc -l)" "$3" "$ratio"
}

