# Shared by bench.sh and import.sh: measure and row, over $work (a scratch folder) and $rows.
now() { date +%s.%N; }
# busy: the whole machine's busy CPU time so far, in clock ticks (/proc/stat: user nice system irq softirq steal).
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# measure NAME CMD...: runs CMD under GNU time; sets secs, rss_mb and cpu_s (the busy CPU time of the whole machine
# during the run, servers included: on an idle machine, what the step costs everyone, e.g. PostgreSQL's backend too).
measure() {
	local t0 t1 b0 b1
	t0=$(now) b0=$(busy)
	if ! /usr/bin/time -f "%M" -o "$work/rss" "$@" >"$work/out" 2>&1; then
		echo "$1 failed:" >&2; tail -20 "$work/out" >&2; secs=nan rss_mb=nan cpu_s=nan; return 0
	fi
	t1=$(now) b1=$(busy)
	secs=$(echo "$t1 - $t0" | bc -l)
	cpu_s=$(echo "($b1 - $b0) / $(getconf CLK_TCK)" | bc -l)
	rss_mb=$(( $(tail -1 "$work/rss") / 1024 ))
}
row() { # NAME SECS RSS [FLOOR [CPU]] — CPU defaults to the last measure's cpu_s
	if [[ $2 == nan ]]; then printf '| %s | failed | | | | |\n' "$1"; return; fi
	local ratio="" cpu=${5:-${cpu_s:-}}
	[[ -n ${4:-} && ${4:-} != "—" ]] && ratio=$(printf '%.2f' "$(echo "$2 / $4" | bc -l)")
	[[ -n $cpu && $cpu != nan && $cpu != - ]] && cpu=$(printf '%.1f' "$cpu")
	printf '| %s | %.2f | %.0f | %s | %s | %s |\n' "$1" "$2" "$(echo "$rows / $2" | bc -l)" "$3" "$ratio" "$cpu"
}

